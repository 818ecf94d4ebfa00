import {
  importPublicKey,
  MAX_TIMESTAMP_SKEW_MS,
  parseSignatureHeader,
  parseWebhookTimestamp,
  SIGNATURE_HEADER,
  signedPayloadHash,
  TIMESTAMP_HEADER,
  verifySendGridDigest,
} from "../../domain/sendgrid-signature.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { loadSettingsRow, type TenantSettingsRow } from "../settings/settings.js";

/**
 * The largest body a webhook POST may have. SendGrid posts a batch "every
 * 30 seconds or when the batch size reaches 768 kilobytes, whichever occurs
 * first" (Twilio SendGrid, Event Webhook overview, "Data Storage"); the batch
 * that reaches 768 KB ends with the event that crossed it, so 1 MiB leaves
 * room for it and for nothing a real batch needs beyond. Anything larger is
 * not SendGrid's and is refused (413) as it streams, never buffered.
 */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** A webhook POST as received: its two signature headers, declared length and raw body. */
export interface SignedWebhook {
  signature: string | undefined;
  timestamp: string | undefined;
  /** The `Content-Length` header, when the client sent one. */
  contentLength?: string | undefined;
  /** The raw body, as it streams in (or whole, from a test); null when there is none. */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
}

const UNVERIFIED = "The signature does not verify with this tenant's webhook public key.";

function tooLarge(): ProblemError {
  return new ProblemError("payload-too-large", {
    detail: `A webhook body may be at most ${MAX_WEBHOOK_BODY_BYTES} bytes (SendGrid posts batches of up to 768 KB).`,
  });
}

/**
 * Verifies a POST of SendGrid's signed Event Webhook for a tenant and answers
 * its body, checked in the order that costs an attacker most and us least:
 * before a byte of the body is read, the headers' shape (a base64 DER P-256
 * signature, Unix seconds), the signing time (within MAX_TIMESTAMP_SKEW_MS),
 * the declared length and that the tenant has a verification key; then the
 * body is read up to MAX_WEBHOOK_BODY_BYTES, hashed as it streams, and the
 * ECDSA signature over timestamp + body checked against the digest. An
 * unknown tenant, a tenant with no key and a bad signature are refused
 * alike, so the URL reveals nothing about which tenants exist.
 */
export async function readSignedSendGridWebhook(
  deps: Deps,
  tenantId: string,
  request: SignedWebhook,
): Promise<{ settings: TenantSettingsRow; body: Uint8Array }> {
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
  const rs = parseSignatureHeader(signature.trim());
  if (!rs) {
    throw new ProblemError("invalid-signature", {
      detail: `${SIGNATURE_HEADER} must be a base64 DER ECDSA P-256 signature.`,
    });
  }
  const declared = request.contentLength === undefined ? null : Number(request.contentLength);
  if (declared !== null && declared > MAX_WEBHOOK_BODY_BYTES) throw tooLarge();
  const settings = await loadSettingsRow(deps, tenantId);
  const key = settings?.webhookPublicKey ? await importPublicKey(settings.webhookPublicKey) : null;
  if (!settings || !key) throw new ProblemError("invalid-signature", { detail: UNVERIFIED });
  // The timestamp is hashed as sent (not trimmed): it is part of the signed bytes.
  const hash = signedPayloadHash(timestamp);
  const body = await readBounded(request.body, (chunk) => hash.update(chunk));
  if (!(await verifySendGridDigest(key, rs, hash.digest()))) {
    throw new ProblemError("invalid-signature", { detail: UNVERIFIED });
  }
  return { settings, body };
}

/**
 * The body's bytes, each chunk handed to `onChunk` as it arrives; refused
 * (and the rest of the stream cancelled, unread) once it passes
 * MAX_WEBHOOK_BODY_BYTES.
 */
async function readBounded(
  body: SignedWebhook["body"],
  onChunk: (chunk: Uint8Array) => void,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) {
    if (body.length > MAX_WEBHOOK_BODY_BYTES) throw tooLarge();
    onChunk(body);
    return body;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.length;
    if (size > MAX_WEBHOOK_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    onChunk(read.value);
    chunks.push(read.value);
  }
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.length;
  }
  return whole;
}
