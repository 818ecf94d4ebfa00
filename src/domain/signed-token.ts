/**
 * Signed, self-contained tokens for links in mail: the unsubscribe token
 * (unsubscribe-token.ts, `/u/TOKEN`) and the double opt-in confirmation token
 * (confirm-token.ts, `/c/TOKEN`). One codec, one key per purpose.
 *
 * Each purpose has its own key, derived from the master secret as
 * HMAC(secret, "grounds:<purpose>") (the per-purpose derivation of
 * digest.ts). A token of one purpose therefore never verifies as another:
 * an unsubscribe link replayed at `/c/` is refused, and a confirmation link
 * cannot unsubscribe. The purpose is also in the key's type, so the compiler
 * refuses a key of the wrong purpose.
 *
 * Layout, all integers big-endian:
 *
 *     version:u8 = 1 | issuedAt:u48 (epoch ms) | field … | tag:16 bytes
 *
 * each string field as one of
 *
 *     0x00 len:u8 utf8[len]                          any text
 *     0x01 len:u8 bytes[len]                         lower-case hex, stored as bytes
 *     0x02 plen:u8 prefix[plen] len:u8 bytes[len]    `<prefix>_<lower-case hex>` (our ids, ids.ts)
 *
 * and the tag is HMAC-SHA-256 over everything before it, truncated to 128
 * bits (RFC 2104 §5 allows truncation to no less than half the output; 128
 * bits leaves a forger a 2^-128 chance per try). The text is base64url
 * (RFC 4648 §5), strictly canonical.
 *
 * A forged, damaged, expired or malformed token yields `null`, without
 * saying which: callers answer the same way for all of them.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

const VERSION = 1;
const TAG_BYTES = 16;
/** Longer input is refused before any decoding work (a token is ~150). */
const MAX_TOKEN_CHARS = 1024;
/**
 * Clock skew tolerated for a token "issued" a little in the future: the
 * instances that sign and verify need not share a clock to the millisecond.
 */
const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;

const KEY = Symbol("signed-token-key");

type PreparedHmac = ReturnType<typeof hmac.create>;

/**
 * A signing key for one purpose, derived once per process. It holds an HMAC
 * state with the key already absorbed, cloned for each token: signing 10,000
 * tokens for one send is synchronous and takes milliseconds. Opaque: the key
 * bytes are not reachable through the type.
 */
export interface SignedTokenKey<Purpose extends string> {
  readonly purpose: Purpose;
  readonly [KEY]: PreparedHmac;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function signedTokenKey<Purpose extends string>(
  secret: string,
  purpose: Purpose,
): SignedTokenKey<Purpose> {
  if (secret.length === 0) throw new TypeError("The token secret is empty.");
  const derived = hmac(sha256, encoder.encode(secret), encoder.encode(`grounds:${purpose}`));
  return Object.freeze({ purpose, [KEY]: hmac.create(sha256, derived) });
}

function tagOf(key: SignedTokenKey<string>, message: Uint8Array): Uint8Array {
  return key[KEY].clone().update(message).digest().subarray(0, TAG_BYTES);
}

/** Signs `fields` issued at `issuedAt`. Throws a TypeError for what it cannot carry (a bug). */
export function signToken(
  key: SignedTokenKey<string>,
  issuedAt: number,
  fields: readonly string[],
): string {
  if (!Number.isSafeInteger(issuedAt) || issuedAt < 0 || issuedAt >= 2 ** 48) {
    throw new TypeError("issuedAt must be epoch milliseconds.");
  }
  const writer = new ByteWriter();
  writer.u8(VERSION);
  writer.u48(issuedAt);
  for (const field of fields) writer.field(field);
  const body = writer.bytes();
  const token = new Uint8Array(body.length + TAG_BYTES);
  token.set(body);
  token.set(tagOf(key, body), body.length);
  return toBase64Url(token);
}

/**
 * The issue time and fields of a genuine token with exactly `fieldCount`
 * fields that is not older than `lifetimeMs`, or null.
 */
export function verifyToken(
  key: SignedTokenKey<string>,
  token: string,
  options: { fieldCount: number; lifetimeMs: number; now: number },
): { issuedAt: number; fields: string[] } | null {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const bytes = fromBase64Url(token);
  if (!bytes || bytes.length <= TAG_BYTES + 7) return null;
  const body = bytes.subarray(0, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  // Authenticate before parsing: nothing of an unauthenticated token is read.
  if (!constantTimeEqual(tag, tagOf(key, body))) return null;
  const reader = new ByteReader(body);
  if (reader.u8() !== VERSION) return null;
  const issuedAt = reader.u48();
  if (issuedAt === null) return null;
  const fields: string[] = [];
  for (let i = 0; i < options.fieldCount; i++) {
    const field = reader.field();
    if (field === null) return null;
    fields.push(field);
  }
  if (!reader.atEnd()) return null;
  if (options.now > issuedAt + options.lifetimeMs) return null;
  if (options.now < issuedAt - MAX_CLOCK_SKEW_MS) return null;
  return { issuedAt, fields };
}

/**
 * Compares two tags in time independent of where they differ, so that timing
 * does not reveal how many leading bytes of a forged tag were right.
 */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

const ID = /^([a-z][a-z0-9]{0,31})_((?:[0-9a-f]{2})+)$/;
const HEX = /^(?:[0-9a-f]{2})+$/;

/** Writes a token's bytes into one growing buffer (a send signs a token per recipient). */
class ByteWriter {
  private buffer = new Uint8Array(128);
  private length = 0;

  u8(value: number): void {
    this.room(1);
    this.buffer[this.length++] = value & 0xff;
  }

  u48(value: number): void {
    for (let shift = 5; shift >= 0; shift--) this.u8(Math.floor(value / 256 ** shift));
  }

  field(value: string): void {
    if (value.length === 0) throw new TypeError("A token field is empty.");
    const id = ID.exec(value);
    if (id?.[1] && id[2] && id[2].length <= 510) {
      this.u8(2);
      this.raw(encoder.encode(id[1]));
      this.hex(id[2]);
    } else if (HEX.test(value) && value.length <= 510) {
      this.u8(1);
      this.hex(value);
    } else {
      this.u8(0);
      this.raw(encoder.encode(value));
    }
  }

  /** Length-prefixed bytes. */
  private raw(bytes: Uint8Array): void {
    if (bytes.length > 255) throw new TypeError("A token field is longer than 255 bytes.");
    this.u8(bytes.length);
    this.room(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Length-prefixed bytes of lower-case hex (already matched by ID or HEX), decoded in place. */
  private hex(hex: string): void {
    const count = hex.length / 2;
    this.u8(count);
    this.room(count);
    for (let i = 0; i < count; i++) {
      this.buffer[this.length++] =
        (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
    }
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

/** The value of one lower-case hex digit's character code. */
function nibble(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

class ByteReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  u8(): number | null {
    if (this.offset >= this.bytes.length) return null;
    return this.bytes[this.offset++] ?? null;
  }

  u48(): number | null {
    let value = 0;
    for (let i = 0; i < 6; i++) {
      const byte = this.u8();
      if (byte === null) return null;
      value = value * 256 + byte;
    }
    return value;
  }

  field(): string | null {
    const kind = this.u8();
    if (kind === 0) {
      const text = this.raw();
      if (!text || text.length === 0) return null;
      try {
        return decoder.decode(text);
      } catch {
        return null;
      }
    }
    if (kind === 1) {
      const bytes = this.raw();
      return bytes && bytes.length > 0 ? bytesToHex(bytes) : null;
    }
    if (kind === 2) {
      const prefix = this.raw();
      const bytes = this.raw();
      if (!prefix || prefix.length === 0 || !bytes || bytes.length === 0) return null;
      return `${String.fromCharCode(...prefix)}_${bytesToHex(bytes)}`;
    }
    return null;
  }

  private raw(): Uint8Array | null {
    const length = this.u8();
    if (length === null || this.offset + length > this.bytes.length) return null;
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }
}

function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Base64url without padding (RFC 4648 §5). */
function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out +=
      BASE64URL_ALPHABET.charAt(n >>> 18) +
      BASE64URL_ALPHABET.charAt((n >>> 12) & 63) +
      BASE64URL_ALPHABET.charAt((n >>> 6) & 63) +
      BASE64URL_ALPHABET.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = ((bytes[i] ?? 0) << 16) | (rest === 2 ? (bytes[i + 1] ?? 0) << 8 : 0);
    out += BASE64URL_ALPHABET.charAt(n >>> 18) + BASE64URL_ALPHABET.charAt((n >>> 12) & 63);
    if (rest === 2) out += BASE64URL_ALPHABET.charAt((n >>> 6) & 63);
  }
  return out;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Strict base64url: only the URL alphabet, no padding, and only the one
 * canonical spelling of the bytes (a changed low bit in the last character
 * would otherwise decode to the same bytes and pass as the original).
 */
function fromBase64Url(text: string): Uint8Array | null {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return toBase64Url(bytes) === text ? bytes : null;
}
