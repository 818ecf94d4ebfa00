import { eq } from "drizzle-orm";
import { justifications } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { newId } from "../../src/domain/ids.js";
import { type Deps, subjectKeyOf } from "../../src/services/deps.js";
import { appendJustifications } from "../../src/services/proofs/append-justifications.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";

/** The Node harness or the Worker in workerd: what the webhook helpers need of either. */
type AnyGateway = Pick<GatewayUnderTest, "request" | "clock">;

/**
 * Test helpers for SendGrid's signed Event Webhook: a key pair made in the
 * test (as SendGrid makes one per account), signatures in SendGrid's form
 * (base64 DER over timestamp + body), and justifications to match events to.
 */

export interface WebhookKeys {
  /** Base64 DER (SPKI), as SendGrid's Mail Settings show the verification key. */
  publicKey: string;
  /** SendGrid's signature header value for these bytes. */
  sign(timestamp: string, body: string | Uint8Array): Promise<string>;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** r ‖ s (IEEE P1363, what WebCrypto signs) as DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function p1363ToDer(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    const padded = (trimmed[0] as number) & 0x80 ? [0, ...trimmed] : [...trimmed];
    return [0x02, padded.length, ...padded];
  };
  const r = integer(raw.subarray(0, 32));
  const s = integer(raw.subarray(32));
  return new Uint8Array([0x30, r.length + s.length, ...r, ...s]);
}

export async function webhookKeys(): Promise<WebhookKeys> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return {
    publicKey: base64(spki),
    async sign(timestamp, body) {
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
      const signed = new Uint8Array([...new TextEncoder().encode(timestamp), ...bytes]);
      const raw = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, signed),
      );
      return base64(p1363ToDer(raw));
    },
  };
}

/** The gateway's clock as SendGrid's timestamp header (Unix seconds). */
export function nowSeconds(gateway: AnyGateway, offsetSeconds = 0): string {
  return String(Math.floor(gateway.clock() / 1000) + offsetSeconds);
}

export const SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature";
export const TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp";

/** POSTs events (or a raw body) to a tenant's webhook, signed with `keys` unless told otherwise. */
export async function postWebhook(
  gateway: AnyGateway,
  tenantId: string,
  keys: WebhookKeys,
  events: unknown,
  options: {
    timestamp?: string;
    /** Sign these bytes instead of the body sent (a changed byte). */
    signBody?: string;
    signature?: string | null;
    omitTimestamp?: boolean;
  } = {},
): Promise<Response> {
  const body = typeof events === "string" ? events : JSON.stringify(events);
  const timestamp = options.timestamp ?? nowSeconds(gateway);
  const headers = new Headers({ "content-type": "application/json" });
  const signature =
    options.signature === undefined
      ? await keys.sign(timestamp, options.signBody ?? body)
      : options.signature;
  if (signature !== null) headers.set(SIGNATURE, signature);
  if (!options.omitTimestamp) headers.set(TIMESTAMP, timestamp);
  return gateway.request(`/webhooks/sendgrid/${encodeURIComponent(tenantId)}`, {
    method: "POST",
    headers,
    body,
  });
}

/** Sets the tenant's webhook public key (and anything else) through the API. */
export async function patchSettings(gateway: AnyGateway, key: string, json: unknown) {
  const res = await gateway.request("/v1/settings", { method: "PATCH", key, json });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`PATCH /v1/settings: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * A justification to match events to, as the send path writes it before
 * handing the message to the provider (status `accepted` once handed).
 */
export async function addJustification(
  gateway: { deps: Deps; clock(): number },
  tenantId: string,
  email: string,
  topic: string,
  status: "pending" | "accepted" | "suppressed" = "accepted",
): Promise<string> {
  const id = newId("jus", gateway.clock());
  const now = gateway.clock();
  await appendJustifications(gateway.deps, tenantId, [
    {
      id,
      messageId: newId("msg", now),
      subjectKey: subjectKeyOf(gateway.deps, tenantId, normaliseAddress(email)),
      topic,
      decision: status === "suppressed" ? "suppress" : "send",
      basis: status === "suppressed" ? null : "consent",
      reasons: status === "suppressed" ? ["no-basis"] : [],
      ruleSet: "cz@1",
      evidence: [],
      trace: [],
      decidedAt: now,
      supersedes: null,
      email,
      chunk: 0,
      status,
      providerMessageId: status === "accepted" ? "x-message-id-1" : null,
      error: null,
      statusAt: now,
    },
  ]);
  return id;
}

export async function justificationRow(gateway: { deps: Deps }, id: string) {
  const [row] = await gateway.deps.db
    .select()
    .from(justifications)
    .where(eq(justifications.id, id));
  if (!row) throw new Error(`no justification ${id}`);
  return row;
}

let counter = 0;

/** A SendGrid event as the Event Webhook posts it, with the custom arg echoed at top level. */
export function sgEvent(
  event: string,
  justificationId: string | null,
  email: string,
  at: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  counter += 1;
  return {
    email,
    timestamp: Math.floor(at / 1000),
    "smtp-id": `<14c5d75ce93.dfd.64b469@ismtpd-${counter}>`,
    event,
    category: ["newsletter"],
    sg_event_id: `sg-event-${counter}-${Math.random().toString(36).slice(2)}`,
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    ...(justificationId ? { justification_id: justificationId } : {}),
    ...extra,
  };
}
