import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import canonicalize from "canonicalize";

/**
 * The tamper-evident chain (DESIGN §6; the algorithm is written down for
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

export function sha256HexSync(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** The canonical JSON of a value (RFC 8785). */
export function canonicalJson(value: unknown): string {
  const json = canonicalize(value);
  if (json === undefined) throw new Error("value cannot be canonicalised");
  return json;
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
