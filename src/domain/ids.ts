/**
 * Identifiers: a prefix naming what it is, then a UUIDv7 (RFC 9562) in hex, so
 * ids sort by creation time and index well.
 */
/**
 * Random bytes drawn from the platform's CSPRNG a few kilobytes at a time:
 * a send makes an id per recipient, and one `getRandomValues` call each
 * costs more than the rest of the id.
 */
const pool = new Uint8Array(4096);
let poolOffset = pool.length;

function randomBytes(length: number): Uint8Array {
  if (poolOffset + length > pool.length) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const bytes = pool.slice(poolOffset, poolOffset + length);
  // Each byte is handed out once: a fresh draw never repeats an earlier id's.
  poolOffset += length;
  return bytes;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

export function newId(prefix: string, now: number = Date.now()): string {
  const bytes = randomBytes(16);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  let hex = "";
  for (const byte of bytes) hex += HEX[byte];
  return `${prefix}_${hex}`;
}

/** A random secret in base64url, e.g. for API keys and generated tokens. */
export function randomSecret(bytes = 32): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  let binary = "";
  for (const byte of buffer) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
