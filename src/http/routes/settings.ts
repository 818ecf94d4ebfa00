import { Hono } from "hono";
import type { Deps } from "../../services/deps.js";
import { getSettings } from "../../services/settings/get-settings.js";
import { updateSettings } from "../../services/settings/update-settings.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { SettingsPatchBody, SettingsSchema } from "../schemas.js";
import { validate } from "../validate.js";

/** Tenant settings (DESIGN §5): SendGrid key and webhook, mappings, retention. */
export function settingsRoutes(deps: Deps) {
  const admin = requireScope(deps, "admin");
  return new Hono<AppEnv>()
    .get(
      "/v1/settings",
      documented({
        summary: "Tenant settings",
        description:
          "The tenant's SendGrid settings and retention. Secrets are write-only: `sendgrid.apiKey` shows only whether a key is set. `sendgrid.webhookUrl` is where to point SendGrid's signed Event Webhook.",
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
        description:
          "Fields given are set, fields left out are kept, `null` clears (JSON Merge Patch, RFC 7396; in `asmGroups` and `categories`, a `null` value removes that key). `sendgrid.apiKey` is stored encrypted (AES-GCM) and never shown. `sendgrid.webhookPublicKey` is the verification key of SendGrid's Signed Event Webhook (base64 DER). Mapping targets must be existing topics (`/problems/unknown-topic`). Retention may only tighten the law: `consentLifetimeMonths` and `softOptInMonths` 1–24 (`null`: the law's), `proofDays` ≥ 1.",
        tag: "Settings",
        auth: "admin",
        response: SettingsSchema,
      }),
      admin,
      idempotent(deps),
      validate("json", SettingsPatchBody),
      async (c) => c.json(await updateSettings(deps, c.var.principal.tenant, c.req.valid("json"))),
    );
}
