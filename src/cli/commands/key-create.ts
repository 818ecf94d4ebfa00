import { CreateKeyBody } from "../../http/schemas.js";
import { SCOPES } from "../../services/scopes.js";
import { type Command, EXIT, parseOptions, UsageError } from "../command.js";
import { validateInput } from "../input.js";
import { printJson } from "../output.js";

const options = {
  tenant: { type: "string" },
  scope: { type: "string", multiple: true },
  name: { type: "string" },
  "expires-at": { type: "string" },
  json: { type: "boolean" },
} as const;

export const keyCreate: Command = {
  name: "key create",
  summary: "Create an API key for a tenant (shown once)",
  help: `Usage: grounds key create --tenant TENANT_ID --scope SCOPE [--scope SCOPE …]
                          [--name NAME] [--expires-at TIME] [--json]

Creates an API key for a tenant, as POST /v1/keys does. The key is printed
once; only its hash is stored.

Options:
  --tenant TENANT_ID   the tenant (ten_…)
  --scope SCOPE        ${SCOPES.join(", ")} (repeat for more;
                       admin includes every other scope)
  --name NAME          a name to tell keys apart
  --expires-at TIME    refuse the key after this instant (RFC 3339, or a date)
  --json               print the answer of the HTTP API

Example:
  grounds key create --tenant ten_… --scope send --scope evidence:write --name shop`,

  async run(args, context) {
    const values = parseOptions(args, options);
    if (values.tenant === undefined) throw new UsageError("missing --tenant");
    const input = validateInput(
      CreateKeyBody,
      { scopes: values.scope, name: values.name, expiresAt: values["expires-at"] },
      { scopes: "--scope", expiresAt: "--expires-at" },
    );
    // Loaded only now: help and refused input need none of the database code.
    const { createKey } = await import("../../services/create-key.js");
    const { loadTenant } = await import("../../services/tenant.js");
    const { deps } = await context.gateway();
    const tenant = await loadTenant(deps, values.tenant);
    const key = await createKey(deps, tenant.id, input, "operator");
    if (values.json) {
      printJson(context.io, key);
      return EXIT.ok;
    }
    context.io.out(
      [
        `Key created: ${key.id} for tenant ${tenant.id} (scopes: ${key.scopes.join(", ")})`,
        "",
        "Shown only this once (only its hash is stored):",
        "",
        `  ${key.key}`,
        "",
      ].join("\n"),
    );
    return EXIT.ok;
  },
};
