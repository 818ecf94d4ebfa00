import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  Frontier,
  inclusionProof,
  leafHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from "../../src/domain/proof/merkle.js";

/*
 * A literal transcription of RFC 9162 §2.1's definitions, recursive and
 * slow, with Node's own SHA-256: the reference the log's code is held to.
 */
const sha = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
};
const largestPowerBelow = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Uint8Array.of(0), d[0] as Uint8Array);
  const k = largestPowerBelow(d.length);
  return sha(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}

function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const k = largestPowerBelow(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  const k = largestPowerBelow(n);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

const entries = (n: number) =>
  Array.from({ length: n }, (_, i) => new TextEncoder().encode(`entry ${i}`));
const hex = (hashes: Uint8Array[]) => hashes.map((h) => Buffer.from(h).toString("hex"));

const SIZES = Array.from({ length: 40 }, (_, i) => i + 1);

describe("the Merkle tree (RFC 9162 §2.1)", () => {
  it("hashes the empty tree as SHA-256 of nothing", () => {
    expect(hex([rootOf([])])).toEqual(hex([mth([])]));
  });

  it.each(SIZES)("computes the root of %i leaves as MTH does", (n) => {
    const d = entries(n);
    expect(hex([rootOf(d.map(leafHash))])).toEqual(hex([mth(d)]));
  });

  it("keeps the root through a frontier resumed from its stored nodes", () => {
    const d = entries(37);
    const first = new Frontier();
    for (const entry of d.slice(0, 21)) first.append(leafHash(entry));
    const resumed = new Frontier(first.size, first.nodes);
    for (const entry of d.slice(21)) resumed.append(leafHash(entry));
    expect(hex([resumed.root()])).toEqual(hex([mth(d)]));
    expect(() => new Frontier(5, first.nodes.slice(0, 1))).toThrow();
  });

  it.each(SIZES)("proves and verifies the inclusion of every leaf of %i", (n) => {
    const d = entries(n);
    const leaves = d.map(leafHash);
    const root = mth(d);
    for (let m = 0; m < n; m++) {
      const proof = inclusionProof(m, leaves);
      expect(hex(proof)).toEqual(hex(path(m, d)));
      const leaf = leaves[m] as Uint8Array;
      expect(verifyInclusion(m, n, leaf, proof, root)).toBe(true);
      // Another leaf, another index, another size or a changed proof fails.
      const other = leaves[(m + 1) % n] as Uint8Array;
      if (n > 1) expect(verifyInclusion(m, n, other, proof, root)).toBe(false);
      expect(verifyInclusion(m, m, leaf, proof, root)).toBe(false);
      if (n > 1) expect(verifyInclusion((m + 1) % n, n, leaf, proof, root)).toBe(false);
      if (proof.length > 0) {
        const damaged = proof.map((h) => new Uint8Array(h));
        const first = damaged[0] as Uint8Array;
        first[0] = (first[0] ?? 0) ^ 1;
        expect(verifyInclusion(m, n, leaf, damaged, root)).toBe(false);
        expect(verifyInclusion(m, n, leaf, proof.slice(1), root)).toBe(false);
      }
      expect(verifyInclusion(m, n, leaf, [...proof, root], root)).toBe(false);
    }
  });

  it.each(SIZES)("proves and verifies consistency from every size to %i", (n) => {
    const d = entries(n);
    const leaves = d.map(leafHash);
    const root2 = mth(d);
    for (let m = 1; m <= n; m++) {
      const proof = consistencyProof(m, leaves);
      expect(hex(proof)).toEqual(hex(subproof(m, d, true)));
      const root1 = mth(d.slice(0, m));
      expect(verifyConsistency(m, n, root1, root2, proof)).toBe(true);
      // A rewritten history: the old tree with one leaf changed.
      const forged = [...d.slice(0, m - 1), new TextEncoder().encode("forged")];
      expect(verifyConsistency(m, n, mth(forged), root2, proof)).toBe(false);
      if (m < n) {
        expect(verifyConsistency(m, n, root1, mth(d.slice(0, n - 1)), proof)).toBe(false);
        expect(verifyConsistency(m, n, root1, root2, proof.slice(1))).toBe(false);
        expect(verifyConsistency(m, n, root1, root2, [...proof, root2])).toBe(false);
      }
    }
  });
});
