import { Hono } from "hono";
import * as v from "valibot";
import type { Deps } from "../../services/deps.js";
import { getSettings } from "../../services/settings/get-settings.js";
import { listSettingsChanges } from "../../services/settings/list-settings-changes.js";
import { updateSettings } from "../../services/settings/update-settings.js";
import { loadTenant } from "../../services/tenant.js";
import { requireOperator, requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { decodeCursor, NextCursor, PageQuery, pageOf } from "../pagination.js";
import { SettingsPatchBody, SettingsSchema } from "../schemas.js";
import { validate } from "../validate.js";

const PATCH_DESCRIPTION =
  "Fields given are set, fields left out are kept, `null` clears (JSON Merge Patch, RFC 7396; in `asmGroups` and `categories`, a `null` value removes that key). `sendgrid.apiKey` is stored encrypted (AES-GCM) and never shown. `sendgrid.webhookPublicKey` is the verification key of SendGrid's Signed Event Webhook (base64 DER). Mapping targets must be existing topics (`/problems/unknown-topic`). Retention may only tighten the law: `consentLifetimeMonths` and `softOptInMonths` 1–24 (`null`: the law's). Every change is recorded (`GET /v1/settings/changes`): who, when, each field before and after, secrets only as `changed`.";

const SettingsChangeList = v.object({
  changes: v.array(
    v.object({
      id: v.string(),
      at: v.string(),
      actor: v.pipe(v.string(), v.description("`key:<key id>` or `operator`")),
      changes: v.array(
        v.object({ field: v.string(), from: v.optional(v.unknown()), to: v.unknown() }),
      ),
    }),
  ),
  nextCursor: NextCursor,
});

/** Tenant settings (docs/design.md §5): SendGrid key and webhook, mappings, retention, and their record. */
export function settingsRoutes(deps: Deps) {
  const admin = requireScope(deps, "admin");
  return new Hono<AppEnv>()
    .get(
      "/v1/settings",
      documented({
        summary: "Tenant settings",
        description:
          "The tenant's SendGrid settings and retention. Secrets are write-only: `sendgrid.apiKey` shows only whether a key is set. `sendgrid.webhookUrl` is where to point SendGrid's signed Event Webhook; `sendgrid.inboundParseUrl` (with its secret key) where to point SendGrid's Inbound Parse for the unsubscribe mailbox.",
        tag: "Settings",
        auth: "admin",
        response: SettingsSchema,
      }),
      admin,
      async (c) => c.json(await getSettings(deps, c.var.principal.tenant)),
    )
    .patch(
      "/v1/settings",
      documented({
        summary: "Change tenant settings",
        description: `${PATCH_DESCRIPTION} \`proofDays\` is at least 1,096 (3 years) for a tenant key (\`/problems/retention-below-floor\`); only the operator can set less (\`PATCH /v1/tenants/{id}/settings\`).`,
        tag: "Settings",
        auth: "admin",
        response: SettingsSchema,
        problems: ["unknown-topic", "retention-below-floor"],
      }),
      admin,
      idempotent(deps),
      validate("json", SettingsPatchBody),
      async (c) =>
        c.json(
          await updateSettings(deps, c.var.principal.tenant, c.req.valid("json"), {
            keyId: c.var.principal.keyId,
          }),
        ),
    )
    .patch(
      "/v1/tenants/:id/settings",
      documented({
        summary: "Change a tenant's settings as the operator",
        description: `The same change as \`PATCH /v1/settings\`, by the operator, who alone may keep proofs for fewer than 1,096 days (\`proofDays\` ≥ 1). ${PATCH_DESCRIPTION}`,
        tag: "Settings",
        auth: "operator",
        response: SettingsSchema,
        problems: ["not-found", "unknown-topic"],
      }),
      requireOperator(deps),
      idempotent(deps),
      validate("json", SettingsPatchBody),
      async (c) => {
        const tenant = await loadTenant(deps, c.req.param("id"));
        return c.json(await updateSettings(deps, tenant, c.req.valid("json"), "operator"));
      },
    )
    .get(
      "/v1/settings/changes",
      documented({
        summary: "Settings changes",
        description:
          'Every change of the tenant\'s settings and API keys, newest first: when (`at`), who (`actor`: `key:<key id>` or `operator`) and what (each field as a JSON Pointer, its value `from` and `to`; a secret only `to: "changed"` or `"removed"`, never its value). Paginated: `limit` and `cursor` → `nextCursor`.',
        tag: "Settings",
        auth: "compliance:read",
        response: SettingsChangeList,
      }),
      requireScope(deps, "compliance:read"),
      validate("query", PageQuery),
      async (c) => {
        const { limit, cursor } = c.req.valid("query");
        const after = decodeCursor(cursor, ["number", "string"]);
        const rows = await listSettingsChanges(deps, c.var.principal.tenant.id, { limit, after });
        const page = pageOf(rows, limit, (change) => [Date.parse(change.at), change.id]);
        return c.json({ changes: page.items, nextCursor: page.nextCursor });
      },
    );
}
