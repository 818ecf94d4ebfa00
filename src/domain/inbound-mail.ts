/**
 * Mailed unsubscribes (RFC 2369 §3.2, RFC 8058 §3): the second URI of every
 * marketing message's `List-Unsubscribe` is `mailto:<contact>?subject=
 * unsubscribe%20<TOKEN>` (compliance/headers.ts), and some mail clients offer
 * only it. A mail that comes back to that address is an unsubscribe when it
 * carries a genuine token; the token is looked for in the subject first (as
 * the mailto gave it), then in the text (a forwarded or re-typed request).
 * Pure: the service verifies the candidates and writes.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * Runs of the token alphabet (base64url, RFC 4648 §5) long enough to be a
 * token (a signed token is about 150 characters; 60 leaves room for short
 * ids and rules out words and most other base64url in mail).
 */
const CANDIDATE = /[A-Za-z0-9_-]{60,1024}/g;

/** Where to look, in order: the subject, then the text, then the HTML (already decoded MIME parts). */
export interface InboundMailText {
  subject?: string | undefined;
  text?: string | undefined;
  html?: string | undefined;
}

/**
 * The strings that may be the unsubscribe token, most likely first and each
 * once. The subject may carry it percent-encoded (a client that did not
 * decode the mailto's `subject=`), so `%2D`-style escapes are undone first.
 */
export function tokenCandidates(mail: InboundMailText, limit = 20): string[] {
  const out: string[] = [];
  for (const part of [mail.subject, mail.text, mail.html]) {
    if (!part) continue;
    for (const variant of [part, percentDecoded(part)]) {
      for (const match of variant.matchAll(CANDIDATE)) {
        if (!out.includes(match[0])) out.push(match[0]);
        if (out.length >= limit) return out;
      }
    }
  }
  return out;
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

const PURPOSE = utf8ToBytes("grounds:inbound-parse-url\n");

/**
 * The secret in a tenant's Inbound Parse URL (`/inbound/sendgrid/{tenant}?key=…`):
 * HMAC-SHA-256 of the purpose and the tenant id under the installation's
 * settings key, base64url. Nobody without `GROUNDS_SECRET` can make it, so
 * nobody else can post unsubscribes; it needs no storage and never changes
 * for a tenant.
 */
export function inboundParseKey(key: Uint8Array, tenantId: string): string {
  const message = new Uint8Array([...PURPOSE, ...utf8ToBytes(tenantId)]);
  const tag = hmac(sha256, key, message);
  let binary = "";
  for (const byte of tag) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Compares two texts in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
