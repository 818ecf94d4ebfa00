/**
 * Secrets kept at rest (a tenant's own SendGrid API key): AES-256-GCM via
 * WebCrypto, under a key derived from GROUNDS_SECRET for this purpose only
 * (digest.ts `deriveKey(secret, "settings")`). The database alone never
 * yields the secret.
 *
 * Layout: `v1.` + base64url(iv:12 bytes ‖ ciphertext ‖ tag:16 bytes). A fresh
 * random 96-bit IV per seal (NIST SP 800-38D §8.2.2). The `context` (e.g.
 * tenant id and field name) is bound as additional authenticated data, so a
 * ciphertext copied to another tenant's row, or into another field, does
 * not open.
 */

const VERSION = "v1.";
const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function aesKey(key: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  if (key.length !== 32) throw new Error("the settings key must be 32 bytes");
  return crypto.subtle.importKey("raw", new Uint8Array(key), { name: "AES-GCM" }, false, [usage]);
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export async function sealSecret(
  key: Uint8Array,
  plaintext: string,
  context: string,
): Promise<string> {
  const iv = new Uint8Array(IV_BYTES);
  crypto.getRandomValues(iv);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    await aesKey(key, "encrypt"),
    encoder.encode(plaintext),
  );
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv, 0);
  out.set(new Uint8Array(sealed), IV_BYTES);
  return VERSION + toBase64Url(out);
}

/**
 * The plaintext of a sealed secret. Throws when it was not sealed under this
 * key and context, or was altered (GCM authenticates it).
 */
export async function openSecret(
  key: Uint8Array,
  sealed: string,
  context: string,
): Promise<string> {
  if (!sealed.startsWith(VERSION)) throw new Error("unknown sealed-secret version");
  const bytes = fromBase64Url(sealed.slice(VERSION.length));
  if (bytes.length < IV_BYTES + 16) throw new Error("sealed secret too short");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(context) },
    await aesKey(key, "decrypt"),
    bytes.subarray(IV_BYTES),
  );
  return decoder.decode(plain);
}
