import {
  importPublicKey,
  MAX_TIMESTAMP_SKEW_MS,
  parseWebhookTimestamp,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySendGridSignature,
} from "../../domain/sendgrid-signature.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { loadSettingsRow, type TenantSettingsRow } from "../settings/settings.js";

/** A webhook POST as received: its two signature headers and the raw body. */
export interface SignedWebhook {
  signature: string | undefined;
  timestamp: string | undefined;
  body: Uint8Array;
}

/**
 * Verifies a POST of SendGrid's signed Event Webhook for a tenant, on the raw
 * bytes, before anything is parsed: headers present, the signing time within
 * MAX_TIMESTAMP_SKEW_MS of now, and the ECDSA signature over timestamp + body
 * valid under the tenant's webhook public key. An unknown tenant, a tenant
 * with no key and a bad signature are refused alike, so the URL reveals
 * nothing about which tenants exist.
 */
export async function verifySendGridWebhook(
  deps: Deps,
  tenantId: string,
  request: SignedWebhook,
): Promise<TenantSettingsRow> {
  const { signature, timestamp } = request;
  if (!signature || !timestamp) {
    throw new ProblemError("invalid-signature", {
      detail: `Send ${SIGNATURE_HEADER} and ${TIMESTAMP_HEADER} (SendGrid's Signed Event Webhook).`,
    });
  }
  const signedAt = parseWebhookTimestamp(timestamp.trim());
  if (signedAt === null) {
    throw new ProblemError("invalid-signature", {
      detail: `${TIMESTAMP_HEADER} must be Unix seconds.`,
    });
  }
  if (Math.abs(deps.clock() - signedAt) > MAX_TIMESTAMP_SKEW_MS) {
    throw new ProblemError("stale-webhook", {
      detail: `The signing time must be within ${MAX_TIMESTAMP_SKEW_MS / 60_000} minutes of now.`,
    });
  }
  const settings = await loadSettingsRow(deps, tenantId);
  const key = settings?.webhookPublicKey ? await importPublicKey(settings.webhookPublicKey) : null;
  // The timestamp is verified as sent (not trimmed): it is part of the signed bytes.
  if (
    !settings ||
    !key ||
    !(await verifySendGridSignature(key, signature, timestamp, request.body))
  ) {
    throw new ProblemError("invalid-signature", {
      detail: "The signature does not verify with this tenant's webhook public key.",
    });
  }
  return settings;
}
