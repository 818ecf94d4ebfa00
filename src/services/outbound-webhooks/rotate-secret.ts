import { tenantSettings } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { recordSettingsChange, type SettingsActor } from "../settings/record-settings-change.js";
import { newWebhookSecret, sealWebhookSecret } from "./secret.js";

/**
 * Replaces the tenant's webhook signing secret (`POST /v1/webhooks/secret`)
 * and answers the new one. Deliveries from now on, retries included, are
 * signed with it. Recorded as a settings change, as `changed`.
 */
export async function rotateWebhookSecret(
  deps: Deps,
  tenantId: string,
  actor: SettingsActor,
): Promise<string> {
  const secret = newWebhookSecret();
  const sealed = await sealWebhookSecret(deps, tenantId, secret);
  const now = deps.clock();
  const record = recordSettingsChange(deps, tenantId, actor, [
    { field: "/webhookSecret", to: "changed" },
  ]);
  await deps.db.batch([
    deps.db
      .insert(tenantSettings)
      .values({ tenantId, webhookSecretCiphertext: sealed, updatedAt: now })
      .onConflictDoUpdate({
        target: tenantSettings.tenantId,
        set: { webhookSecretCiphertext: sealed, updatedAt: now },
      }),
    ...(record ? [record] : []),
  ]);
  return secret;
}
