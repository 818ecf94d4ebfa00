/**
 * Hashes used by the core. WebCrypto is part of the platform on every runtime
 * Grounds runs on (Node 24, workerd), so the core needs no runtime import.
 */

const encoder = new TextEncoder();

function toHex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** An HMAC-SHA-256 key, imported once and reused for many messages. */
export type KeyedHasher = (text: string) => Promise<string>;

export async function keyedHasher(secret: string, purpose: string): Promise<KeyedHasher> {
  // Derive a key per purpose so that one secret never serves two uses
  // (subject keys, API-key hashes, tokens) with the same bytes.
  const master = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const derived = await crypto.subtle.sign("HMAC", master, encoder.encode(`grounds:${purpose}`));
  const key = await crypto.subtle.importKey(
    "raw",
    derived,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return async (text) => toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}
