import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { fromBase64, toBase64 } from "./base64.js";

/**
 * Signed notes (C2SP `signed-note`, the format of Go's
 * golang.org/x/mod/sumdb/note) with Ed25519, as docs/design.md §6 asks for the
 * log's checkpoints:
 *
 *   <text, ending in a newline>
 *   <empty line>
 *   — <key name> <base64(key id ‖ signature)>       (one line per signature)
 *
 * The key id is the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public
 * key) (0x01: the Ed25519 signature type); the signature is Ed25519 over the
 * text's UTF-8 bytes. A verifier key is written
 * `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
 *
 * Ed25519 is WebCrypto's (`{name: "Ed25519"}`), which Node 24 and workerd
 * both implement (test/worker/ed25519.test.ts checks it in workerd).
 */

const ED25519_TYPE = 0x01;
const encoder = new TextEncoder();

/** A key that signs notes. */
export interface NoteSigner {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** What checks a note's signature: a parsed verifier key. */
export interface NoteVerifier {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

/** A key name: non-empty, no spaces, no `+` (C2SP signed-note). */
export function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && name.isWellFormed();
}

/** The first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). */
export function keyIdOf(name: string, publicKey: Uint8Array): Uint8Array {
  const hash = sha256
    .create()
    .update(encoder.encode(name))
    .update(Uint8Array.of(0x0a, ED25519_TYPE))
    .update(publicKey)
    .digest();
  return hash.slice(0, 4);
}

/**
 * The PKCS #8 wrapping of a raw Ed25519 private key (RFC 8410 §7): a fixed
 * 16-byte header, then the 32-byte seed. WebCrypto imports Ed25519 private
 * keys only as PKCS #8 or JWK.
 */
const PKCS8_ED25519_HEADER = hexToBytes("302e020100300506032b657004220420");

/**
 * The signer of the note key whose 32-byte seed is given (docs/design.md §6: derived
 * from GROUNDS_SECRET, so the key needs no storage of its own and is the same
 * on every instance of the installation).
 */
export async function noteSignerFromSeed(name: string, seed: Uint8Array): Promise<NoteSigner> {
  if (!isKeyName(name)) throw new Error("a key name has no spaces and no '+'");
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const pkcs8 = new Uint8Array(PKCS8_ED25519_HEADER.length + 32);
  pkcs8.set(PKCS8_ED25519_HEADER);
  pkcs8.set(seed, PKCS8_ED25519_HEADER.length);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, [
    "sign",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  if (!jwk.x) throw new Error("the runtime did not export the Ed25519 public key");
  // JWK writes base64url without padding (RFC 7517); 32 bytes take one "=".
  const publicKey = fromBase64(`${jwk.x.replaceAll("-", "+").replaceAll("_", "/")}=`);
  return {
    name,
    keyId: keyIdOf(name, publicKey),
    publicKey,
    sign: async (message) =>
      new Uint8Array(
        await crypto.subtle.sign({ name: "Ed25519" }, privateKey, Uint8Array.from(message)),
      ),
  };
}

/** `<name>+<hex key id>+<base64(0x01 ‖ public key)>`. */
export function verifierKey(key: NoteVerifier): string {
  const typed = new Uint8Array(33);
  typed[0] = ED25519_TYPE;
  typed.set(key.publicKey, 1);
  return `${key.name}+${bytesToHex(key.keyId)}+${toBase64(typed)}`;
}

/** Parses a verifier key; null when it is not an Ed25519 note verifier key. */
export function parseVerifierKey(text: string): NoteVerifier | null {
  // The name has no "+"; the base64 key may have some.
  const match = /^([^+]+)\+([^+]*)\+(.*)$/su.exec(text.trim());
  if (!match) return null;
  const [, name = "", idHex = "", keyB64 = ""] = match;
  if (!isKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) return null;
  const typed = fromBase64(keyB64, null);
  if (typed?.length !== 33 || typed[0] !== ED25519_TYPE) return null;
  const publicKey = typed.slice(1);
  const keyId = hexToBytes(idHex);
  // The id must be the one the name and key give, or the key is not what it claims.
  if (bytesToHex(keyIdOf(name, publicKey)) !== idHex) return null;
  return { name, keyId, publicKey };
}

/** A note's text is UTF-8 without control characters other than newline, ending in one. */
export function isNoteText(text: string): boolean {
  if (!text.endsWith("\n") || !text.isWellFormed()) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // C2SP signed-note: no ASCII control characters but newline (0x0A).
    if ((code < 0x20 && code !== 0x0a) || code === 0x7f) return false;
  }
  return true;
}

/** Signs a note's text: the signed note, text then its signature line. */
export async function signNote(text: string, signer: NoteSigner): Promise<string> {
  if (!isNoteText(text))
    throw new Error("a note's text ends in a newline and has no control characters");
  const signature = await signer.sign(encoder.encode(text));
  const payload = new Uint8Array(4 + signature.length);
  payload.set(signer.keyId);
  payload.set(signature, 4);
  return `${text}\n— ${signer.name} ${toBase64(payload)}\n`;
}

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}

/** A signed note split into its text and its signature lines; null if malformed. */
export function splitNote(note: string): { text: string; signatures: NoteSignature[] } | null {
  const at = note.lastIndexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) return null;
  const text = note.slice(0, at + 1);
  const lines = note.slice(at + 2, -1).split("\n");
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const match = /^— (\S+) (\S+)$/u.exec(line);
    if (!match) return null;
    const name = match[1] ?? "";
    const payload = fromBase64(match[2] ?? "", null);
    if (!payload || payload.length < 5) return null;
    signatures.push({ name, keyId: payload.slice(0, 4), signature: payload.slice(4) });
  }
  if (!isNoteText(text) || signatures.length === 0) return null;
  return { text, signatures };
}

/**
 * Opens a signed note with a verifier key: its text when a signature line of
 * that key verifies over it, else null (other keys' lines — witnesses'
 * cosignatures — are ignored, as C2SP signed-note allows).
 */
export async function openNote(note: string, verifier: NoteVerifier): Promise<string | null> {
  const split = splitNote(note);
  if (!split) return null;
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(verifier.publicKey),
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  for (const line of split.signatures) {
    if (line.name !== verifier.name || bytesToHex(line.keyId) !== bytesToHex(verifier.keyId)) {
      continue;
    }
    const ok = await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      Uint8Array.from(line.signature),
      encoder.encode(split.text),
    );
    if (ok) return split.text;
  }
  return null;
}
