import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * Hashes used by the core. They run the same on every runtime Grounds runs
 * on (Node 24, workerd). Keyed hashes are synchronous (@noble/hashes): a send
 * computes one per recipient, and awaiting WebCrypto 10,000 times costs more
 * than the hashing itself.
 */

const encoder = new TextEncoder();

function toHex(buffer: ArrayBuffer): string {
  return bytesToHex(new Uint8Array(buffer));
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** An HMAC-SHA-256 under a key derived for one purpose, as lower-case hex. */
export type KeyedHasher = (text: string) => string;

/** The key derived from the master secret for one purpose. */
export function deriveKey(secret: string, purpose: string): Uint8Array {
  // One key per purpose, so one secret never serves two uses (subject keys,
  // unsubscribe tokens, …) with the same bytes.
  return hmac(sha256, utf8ToBytes(secret), utf8ToBytes(`grounds:${purpose}`));
}

export function keyedHasher(secret: string, purpose: string): KeyedHasher {
  // The key is absorbed once; each hash clones that state (a send hashes
  // one address per recipient).
  const keyed = hmac.create(sha256, deriveKey(secret, purpose));
  return (text) => bytesToHex(keyed.clone().update(utf8ToBytes(text)).digest());
}
