/**
 * SendGrid's Signed Event Webhook (Twilio SendGrid, "Getting Started with the
 * Event Webhook Security Features"): SendGrid signs each POST with an ECDSA
 * P-256 key pair of the account; the signature is sent in
 * `X-Twilio-Email-Event-Webhook-Signature`, the signing time (Unix seconds)
 * in `X-Twilio-Email-Event-Webhook-Timestamp`, and the signed payload is the
 * timestamp followed by the raw request body (SendGrid's own libraries:
 * sendgrid-nodejs `EventWebhook.verifySignature` verifies
 * `timestamp + payload` with SHA-256). The verification key shown in Mail
 * Settings is the public key as base64 DER (SubjectPublicKeyInfo), and the
 * signature is base64 DER (an ASN.1 SEQUENCE of the integers r and s).
 *
 * Verified with WebCrypto only, so it runs the same on Node and on Workers.
 * WebCrypto takes an ECDSA signature in the IEEE P1363 form (r ‖ s, each
 * exactly 32 bytes for P-256), hence the DER conversion below.
 */

import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";

const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const VERIFY = { name: "ECDSA", hash: "SHA-256" } as const;
/** The byte length of r and of s for P-256. */
const SCALAR_BYTES = 32;

export const SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature";
export const TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp";

/**
 * How far the signing time may lie from our clock. SendGrid documents no
 * window; it signs every POST (a retry too) when it sends it, so 10 minutes
 * covers clock skew and slow transfers of a large batch, and refuses a
 * captured request replayed later. A replay within the window changes
 * nothing either: events are deduplicated by `sg_event_id`.
 */
export const MAX_TIMESTAMP_SKEW_MS = 10 * 60 * 1000;

/** Decodes standard base64 (RFC 4648 §4), ignoring white space; null if malformed. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  const compact = text.replace(/\s+/g, "");
  if (compact.length === 0 || compact.length % 4 !== 0) return null;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  let binary: string;
  try {
    binary = atob(compact);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The key as SendGrid shows it, normalised: the base64 of the DER, with the
 * PEM armour (`-----BEGIN PUBLIC KEY-----`) and white space removed, so a key
 * pasted either way is stored and compared the same.
 */
export function normalisePublicKey(text: string): string {
  return text.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
}

/** Imported keys by their base64 text: importing costs more than verifying a small batch. */
const keyCache = new Map<string, Promise<CryptoKey | null>>();
const KEY_CACHE_SIZE = 256;

/** The P-256 public key of a base64 DER (SPKI) text, or null if it is not one. */
export function importPublicKey(base64Der: string): Promise<CryptoKey | null> {
  const normalised = normalisePublicKey(base64Der);
  const cached = keyCache.get(normalised);
  if (cached) return cached;
  const imported = (async () => {
    const der = decodeBase64(normalised);
    if (!der) return null;
    try {
      // Extractable: a public key, exported as its raw point to verify a streamed digest.
      return await crypto.subtle.importKey("spki", der, P256, true, ["verify"]);
    } catch {
      return null;
    }
  })();
  if (keyCache.size >= KEY_CACHE_SIZE) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  keyCache.set(normalised, imported);
  return imported;
}

/**
 * A DER ECDSA signature (`SEQUENCE { INTEGER r, INTEGER s }`, RFC 3279
 * §2.2.3) as IEEE P1363 `r ‖ s`, each left-padded to 32 bytes; null if it is
 * not a well-formed P-256 signature. DER integers are signed and minimal, so
 * r or s carries a leading 0x00 when its high bit is set (33 bytes) and is
 * shorter than 32 bytes when it has leading zero bytes.
 */
export function derToP1363(der: Uint8Array): Uint8Array<ArrayBuffer> | null {
  let offset = 0;
  const byte = () => (offset < der.length ? (der[offset++] as number) : -1);
  const length = (): number => {
    const first = byte();
    if (first < 0) return -1;
    if (first < 0x80) return first;
    // Long form: a P-256 signature is at most 72 bytes, so one length byte.
    if (first !== 0x81) return -1;
    const value = byte();
    return value >= 0x80 ? value : -1;
  };
  const integer = (): Uint8Array | null => {
    if (byte() !== 0x02) return null;
    const size = length();
    if (size <= 0 || offset + size > der.length) return null;
    let value = der.subarray(offset, offset + size);
    offset += size;
    // A negative integer (high bit set, no 0x00 before it) is no ECDSA scalar.
    if ((value[0] as number) & 0x80) return null;
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > SCALAR_BYTES) return null;
    return value;
  };
  if (byte() !== 0x30) return null;
  const total = length();
  if (total < 0 || offset + total !== der.length) return null;
  const r = integer();
  const s = integer();
  if (!r || !s || offset !== der.length) return null;
  const out = new Uint8Array(SCALAR_BYTES * 2);
  out.set(r, SCALAR_BYTES - r.length);
  out.set(s, SCALAR_BYTES * 2 - s.length);
  return out;
}

const encoder = new TextEncoder();

/**
 * Whether `signature` (base64 DER) is SendGrid's signature over
 * `timestamp + body` under `key`. The body is the raw bytes as received:
 * verification happens before anything is parsed.
 */
export async function verifySendGridSignature(
  key: CryptoKey,
  signature: string,
  timestamp: string,
  body: Uint8Array,
): Promise<boolean> {
  const der = decodeBase64(signature);
  const p1363 = der ? derToP1363(der) : null;
  if (!p1363) return false;
  const prefix = encoder.encode(timestamp);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix, 0);
  signed.set(body, prefix.length);
  try {
    return await crypto.subtle.verify(VERIFY, key, p1363, signed);
  } catch {
    return false;
  }
}

/**
 * The signing time of a timestamp header in epoch milliseconds, or null if
 * it is not Unix seconds as SendGrid sends them (digits only).
 */
export function parseWebhookTimestamp(value: string): number | null {
  if (!/^\d{1,12}$/.test(value)) return null;
  return Number(value) * 1000;
}

/**
 * The signature header as SendGrid sends it — base64 of a DER P-256
 * signature (at most 72 bytes, so at most 96 characters) — as `r ‖ s`; null
 * for anything else. Checked before the body is read: a request that cannot
 * carry a valid signature is refused without reading a byte of its body.
 */
export function parseSignatureHeader(value: string): Uint8Array<ArrayBuffer> | null {
  if (value.length > 128) return null;
  const der = decodeBase64(value);
  return der ? derToP1363(der) : null;
}

/** The uncompressed SEC1 point of a P-256 public key (WebCrypto `raw` export). */
const rawKeyCache = new Map<CryptoKey, Promise<Uint8Array>>();

async function rawPublicKey(key: CryptoKey): Promise<Uint8Array> {
  let raw = rawKeyCache.get(key);
  if (!raw) {
    raw = crypto.subtle.exportKey("raw", key).then((buffer) => new Uint8Array(buffer));
    if (rawKeyCache.size >= KEY_CACHE_SIZE) rawKeyCache.clear();
    rawKeyCache.set(key, raw);
  }
  return raw;
}

/**
 * SHA-256 of the signed payload, fed as the body streams in: the timestamp
 * first, then each chunk, so nothing needs to hold the whole payload to hash
 * it.
 */
export function signedPayloadHash(timestamp: string) {
  return sha256.create().update(encoder.encode(timestamp));
}

/**
 * Whether `signature` (`r ‖ s`) is an ECDSA P-256 signature of the payload
 * whose SHA-256 is `digest`. WebCrypto verifies only whole messages, so the
 * digest of a streamed body is checked with @noble/curves. SendGrid's
 * signatures (like WebCrypto's and OpenSSL's) need not have a low s.
 */
export async function verifySendGridDigest(
  key: CryptoKey,
  signature: Uint8Array,
  digest: Uint8Array,
): Promise<boolean> {
  try {
    return p256.verify(signature, digest, await rawPublicKey(key), {
      prehash: false,
      lowS: false,
      format: "compact",
    });
  } catch {
    return false;
  }
}
