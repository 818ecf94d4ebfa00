import { type Command, EXIT, parseOptions, UsageError } from "../command.js";
import { printJson } from "../output.js";

const options = {
  tenant: { type: "string" },
  id: { type: "string" },
  json: { type: "boolean" },
} as const;

export const keyRevoke: Command = {
  name: "key revoke",
  summary: "Revoke an API key at once",
  help: `Usage: grounds key revoke --tenant TENANT_ID --id KEY_ID [--json]

Revokes a key, as DELETE /v1/keys/{id} does: its next request is refused
(401). The tenant's last active admin key cannot be revoked: create another
admin key first (grounds key create --scope admin).

Options:
  --tenant TENANT_ID   the tenant (ten_…)
  --id KEY_ID          the key (key_…), as grounds key list shows it
  --json               print the revoked key as the HTTP API answers it

Example:
  grounds key revoke --tenant ten_… --id key_…`,

  async run(args, context) {
    const values = parseOptions(args, options);
    if (values.tenant === undefined) throw new UsageError("missing --tenant");
    if (values.id === undefined) throw new UsageError("missing --id");
    const { revokeKey } = await import("../../services/revoke-key.js");
    const { loadTenant } = await import("../../services/tenant.js");
    const { deps } = await context.gateway();
    const tenant = await loadTenant(deps, values.tenant);
    const key = await revokeKey(deps, tenant.id, values.id, "operator");
    if (values.json) {
      printJson(context.io, key);
      return EXIT.ok;
    }
    context.io.out(`Key ${key.id} revoked at ${key.revokedAt ?? ""}.`);
    return EXIT.ok;
  },
};
