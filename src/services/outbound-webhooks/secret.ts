import { eq } from "drizzle-orm";
import { tenantSettings } from "../../db/schema.js";
import { openSecret, sealSecret } from "../../domain/secret-box.js";
import type { Deps } from "../deps.js";

/** The additional data the webhook secret is sealed under: it opens for this tenant and field only. */
export function webhookSecretContext(tenantId: string): string {
  return `tenant:${tenantId}:webhook-secret`;
}

/**
 * A new signing secret in the Standard Webhooks form: `whsec_` and the
 * base64 of 24 random bytes (192 bits; the specification asks 24 to 64).
 */
export function newWebhookSecret(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `whsec_${btoa(binary)}`;
}

export function sealWebhookSecret(deps: Deps, tenantId: string, secret: string): Promise<string> {
  return sealSecret(deps.settingsKey, secret, webhookSecretContext(tenantId));
}

/** The tenant's signing secret in clear, or null when it has none (no webhooks set yet). */
export async function webhookSecret(deps: Deps, tenantId: string): Promise<string | null> {
  const [row] = await deps.db
    .select({ sealed: tenantSettings.webhookSecretCiphertext })
    .from(tenantSettings)
    .where(eq(tenantSettings.tenantId, tenantId));
  if (!row?.sealed) return null;
  return openSecret(deps.settingsKey, row.sealed, webhookSecretContext(tenantId));
}
