import type { KeyView } from "../../services/list-keys.js";
import { type Command, EXIT, parseOptions, UsageError } from "../command.js";
import { printJson } from "../output.js";

/** Keys read per query: the list is read whole, a page at a time. */
const PAGE = 500;

const options = {
  tenant: { type: "string" },
  json: { type: "boolean" },
} as const;

export const keyList: Command = {
  name: "key list",
  summary: "List a tenant's API keys (never their secrets)",
  help: `Usage: grounds key list --tenant TENANT_ID [--json]

Lists a tenant's API keys, newest first, as GET /v1/keys does: id, name,
scopes, when created, last used (to the minute), expiry and revocation.
The secrets are never shown: only their hashes are stored.

Options:
  --tenant TENANT_ID   the tenant (ten_…)
  --json               print the keys as the HTTP API answers them

Example:
  grounds key list --tenant ten_…`,

  async run(args, context) {
    const values = parseOptions(args, options);
    if (values.tenant === undefined) throw new UsageError("missing --tenant");
    const { listKeys } = await import("../../services/list-keys.js");
    const { loadTenant } = await import("../../services/tenant.js");
    const { deps } = await context.gateway();
    const tenant = await loadTenant(deps, values.tenant);
    const keys: KeyView[] = [];
    let after: readonly [number, string] | undefined;
    for (;;) {
      const page = await listKeys(deps, tenant.id, { limit: PAGE, after });
      keys.push(...page.slice(0, PAGE));
      const last = page[PAGE - 1];
      if (page.length <= PAGE || !last) break;
      after = [Date.parse(last.createdAt), last.id];
    }
    if (values.json) {
      printJson(context.io, { keys, nextCursor: null });
      return EXIT.ok;
    }
    const rows = keys.map((key) => [
      key.id,
      key.name ?? "",
      key.scopes.join(","),
      key.createdAt,
      key.lastUsedAt ?? "never",
      key.revokedAt ? `revoked ${key.revokedAt}` : key.expiresAt ? `expires ${key.expiresAt}` : "",
    ]);
    const header = ["ID", "NAME", "SCOPES", "CREATED", "LAST USED", "STATE"];
    const widths = header.map((title, i) =>
      Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
    );
    for (const row of [header, ...rows]) {
      context.io.out(
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd(),
      );
    }
    return EXIT.ok;
  },
};
