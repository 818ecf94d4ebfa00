import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * The tamper-evident chain (docs/design.md §6; the algorithm is written down for
 * auditors in docs/proof-log.md). Each row's hash is
 *
 *   hash = hex(SHA-256(JCS(content)))
 *
 * where JCS is the JSON Canonicalization Scheme (RFC 8785) and `content`
 * includes the row's sequence number and the previous row's hash, so a
 * changed, removed or reordered row breaks every hash after it.
 *
 * SHA-256 is computed synchronously (@noble/hashes): a send of 10,000
 * recipients chains 10,000 rows, and awaiting WebCrypto per row costs more
 * than the hash itself.
 */

/** The `prev` of the first row of a chain. */
export const GENESIS = "0".repeat(64);

/** SHA-256 of a string's UTF-8 bytes, as lower-case hex. */
export type Sha256Hex = (text: string) => string;

/** The portable implementation: the same on every runtime. */
export const portableSha256Hex: Sha256Hex = (text) => bytesToHex(sha256(utf8ToBytes(text)));

let sha256Implementation: Sha256Hex = portableSha256Hex;

export function sha256HexSync(text: string): string {
  return sha256Implementation(text);
}

/**
 * Installs a platform's own synchronous SHA-256 (Node's `crypto.createHash`
 * is about three times faster on the kilobyte a justification hashes). It
 * must compute the very same function — the entry point that installs one
 * is tested against the portable implementation — so the hashes, and every
 * chain, are the same whichever is installed.
 */
export function useSha256(implementation: Sha256Hex): void {
  sha256Implementation = implementation;
}

/**
 * The canonical JSON of a value (RFC 8785, JCS): object members sorted by
 * their names' UTF-16 code units, no whitespace, strings and numbers written
 * as ECMAScript's JSON.stringify writes them. Defined for JSON data only
 * (what JSON.parse can give: null, booleans, finite numbers, well-formed
 * strings, arrays, plain objects); anything else is refused rather than
 * guessed at. The test checks it against the `canonicalize` package.
 *
 * A send hashes one justification per recipient, so there is a fast path:
 * a value whose members are already in canonical order — as the objects we
 * hash are built — is exactly what JSON.stringify writes (it keeps the order
 * of string-named members; array-index names, which it would reorder, are
 * left to the general path).
 */
export function canonicalJson(value: unknown): string {
  return inCanonicalOrder(value) ? JSON.stringify(value) : canonicalJsonOf(value);
}

/** An array index, which JavaScript objects order numerically before other names. */
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** Whether JSON.stringify writes `value` canonically (see canonicalJson). */
function inCanonicalOrder(value: unknown): boolean {
  switch (typeof value) {
    case "string":
      return value.isWellFormed();
    case "number":
      return Number.isFinite(value);
    case "boolean":
      return true;
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (const element of value) {
          if (element === undefined || !inCanonicalOrder(element)) return false;
        }
        return true;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      let previous: string | null = null;
      for (const key in value) {
        if (previous !== null && !(previous < key)) return false;
        if (!key.isWellFormed() || ARRAY_INDEX.test(key)) return false;
        const member = (value as Record<string, unknown>)[key];
        if (member !== undefined && !inCanonicalOrder(member)) return false;
        previous = key;
      }
      return true;
    }
    default:
      return false;
  }
}

/** The general path: members sorted here, each member by canonicalJson. */
function canonicalJsonOf(value: unknown): string {
  switch (typeof value) {
    case "string":
      if (!value.isWellFormed()) throw new Error("a lone surrogate cannot be canonicalised");
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new Error(`${value} cannot be canonicalised`);
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          out += canonicalJson(value[i]);
        }
        return `${out}]`;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) {
        throw new Error("only plain objects can be canonicalised");
      }
      const record = value as Record<string, unknown>;
      let out = "{";
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        // As JSON.stringify: a member whose value is undefined is left out.
        if (member === undefined) continue;
        if (out.length > 1) out += ",";
        out += `${canonicalJsonOf(key)}:${canonicalJson(member)}`;
      }
      return `${out}}`;
    }
    default:
      throw new Error(`a ${typeof value} cannot be canonicalised`);
  }
}

export interface Linked {
  seq: number;
  prev: string;
}

export function linkHash(content: Linked & Record<string, unknown>): string {
  return sha256HexSync(canonicalJson(content));
}

/**
 * Links rows onto a chain whose head is (`seq`, `hash`): numbers them, and
 * gives each its predecessor's hash and its own.
 */
export function link<T extends Record<string, unknown>>(
  head: { seq: number; hash: string },
  rows: readonly T[],
): (T & Linked & { hash: string })[] {
  let { seq, hash: prev } = head;
  return rows.map((row) => {
    seq += 1;
    const linked = { ...row, seq, prev };
    const hash = linkHash(linked);
    prev = hash;
    return { ...linked, hash };
  });
}

export type ChainBreak =
  | { seq: number; problem: "hash-mismatch" }
  | { seq: number; problem: "broken-link" }
  | { seq: number; problem: "gap"; expected: number };

/**
 * Verifies rows in chain order from a known starting point (the genesis, or
 * a checkpoint): every row's recomputed hash must match, link to the row
 * before it, and follow it in sequence. Returns the first break, or null.
 */
export function verifyChain(
  start: { seq: number; hash: string },
  rows: Iterable<Linked & { hash: string } & Record<string, unknown>>,
): ChainBreak | null {
  let expectedSeq = start.seq + 1;
  let prev = start.hash;
  for (const row of rows) {
    if (row.seq !== expectedSeq) return { seq: row.seq, problem: "gap", expected: expectedSeq };
    if (row.prev !== prev) return { seq: row.seq, problem: "broken-link" };
    const { hash, ...content } = row;
    if (linkHash(content as Linked & Record<string, unknown>) !== hash) {
      return { seq: row.seq, problem: "hash-mismatch" };
    }
    prev = hash;
    expectedSeq += 1;
  }
  return null;
}
