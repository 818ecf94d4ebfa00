import { sha256 } from "@noble/hashes/sha2.js";

/**
 * The Merkle tree of a tenant's log (docs/design.md §6), exactly as RFC 9162 §2.1
 * defines it for Certificate Transparency:
 *
 *   MTH({})        = SHA-256()
 *   MTH({d(0)})    = SHA-256(0x00 ‖ d(0))                       (leaf hash)
 *   MTH(D[n])      = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))   (node hash)
 *
 * where k is the largest power of two smaller than n. Inclusion proofs
 * follow §2.1.3, consistency proofs §2.1.4; the verifiers are the
 * algorithms of §2.1.3.2 and §2.1.4.2. The test checks all of it against a
 * literal recursive transcription of the definitions for every tree size up
 * to a few dozen.
 *
 * Hashing is synchronous (@noble/hashes): a send hashes one leaf per
 * recipient, and awaiting WebCrypto per leaf costs more than the hash.
 */

export type Hash = Uint8Array;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** SHA-256 of nothing: the root of the empty tree (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0));

/** SHA-256(0x00 ‖ entry): the leaf hash of an entry's bytes (RFC 9162 §2.1.1). */
export function leafHash(entry: Uint8Array): Hash {
  return sha256.create().update(LEAF_PREFIX).update(entry).digest();
}

/** SHA-256(0x01 ‖ left ‖ right): an interior node (RFC 9162 §2.1.1). */
export function nodeHash(left: Hash, right: Hash): Hash {
  return sha256.create().update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two smaller than n (n ≥ 2): where RFC 9162 splits D[n]. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A run of leaves [start, end) whose tree hash (MTH) a proof needs. */
export interface LeafRange {
  start: number;
  end: number;
}

/**
 * The root of the leaves given (their leaf hashes, in order): MTH of the
 * whole sequence, computed bottom-up in O(n) hashes and O(log n) memory.
 */
export function rootOf(leaves: readonly Hash[]): Hash {
  const frontier = new Frontier();
  for (const leaf of leaves) frontier.append(leaf);
  return frontier.root();
}

/**
 * The right edge of a tree (a "compact range"): the roots of the perfect
 * subtrees that the binary decomposition of its size gives, largest first.
 * It is all an append needs to know to compute the next root: a send adds
 * 10,000 leaves without reading one old leaf.
 */
export class Frontier {
  /** Perfect subtree roots, largest first; sizes are the set bits of `size`. */
  readonly #nodes: Hash[];
  #size: number;

  constructor(size = 0, nodes: readonly Hash[] = []) {
    if (popcount(size) !== nodes.length) {
      throw new Error(
        `a frontier of size ${size} has ${popcount(size)} nodes, not ${nodes.length}`,
      );
    }
    this.#size = size;
    this.#nodes = [...nodes];
  }

  get size(): number {
    return this.#size;
  }

  /** The perfect subtree roots, largest first (what is stored to resume). */
  get nodes(): readonly Hash[] {
    return this.#nodes;
  }

  /**
   * Appends a leaf. `completed`, if given, learns of every perfect subtree
   * the leaf completes: its height (2^height leaves) and root; it ends at
   * the new leaf.
   */
  append(leaf: Hash, completed?: (height: number, root: Hash) => void): void {
    let node = leaf;
    let height = 0;
    // Each trailing one bit of the old size is a subtree of the new
    // leaf's size that now has a right sibling: merge them.
    for (let size = this.#size; size % 2 === 1; size = Math.floor(size / 2)) {
      const left = this.#nodes.pop();
      if (!left) throw new Error("frontier out of step with its size");
      node = nodeHash(left, node);
      height += 1;
      completed?.(height, node);
    }
    this.#nodes.push(node);
    this.#size += 1;
  }

  /** MTH of the whole tree: the subtrees folded from the right (RFC 9162 §2.1.1). */
  root(): Hash {
    let root: Hash | undefined;
    for (let i = this.#nodes.length - 1; i >= 0; i--) {
      const node = this.#nodes[i] as Hash;
      root = root ? nodeHash(node, root) : node;
    }
    return root ?? EMPTY_ROOT;
  }
}

function popcount(n: number): number {
  let count = 0;
  for (let m = n; m > 0; m = Math.floor(m / 2)) count += m % 2;
  return count;
}

/**
 * The subtrees whose hashes make the inclusion proof of leaf m in a tree of
 * n leaves, in proof order (RFC 9162 §2.1.3.1, PATH(m, D[n])):
 * PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, and
 * PATH(m - k, D[k:n]) : MTH(D[0:k]) otherwise.
 */
export function inclusionRanges(m: number, n: number): LeafRange[] {
  if (!(Number.isInteger(m) && Number.isInteger(n) && m >= 0 && m < n)) {
    throw new RangeError(`no leaf ${m} in a tree of ${n}`);
  }
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = n;
  // Walk down from the root, remembering each sibling; the proof lists them
  // from the leaf up.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m - start < k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
    }
  }
  return ranges.reverse();
}

/**
 * The subtrees whose hashes make the consistency proof between the trees of
 * m and n leaves, 0 < m ≤ n, in proof order (RFC 9162 §2.1.4.1,
 * PROOF(m, D[n]) = SUBPROOF(m, D[n], true)).
 */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  if (!(Number.isInteger(m) && Number.isInteger(n) && m > 0 && m <= n)) {
    throw new RangeError(`no consistency proof from ${m} to ${n}`);
  }
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = n;
  let whole = true;
  // SUBPROOF(m, D[start:end], whole), unrolled: each step descends into one
  // side and appends the other side's hash after the rest of the proof, so
  // the ranges are collected in reverse.
  for (;;) {
    const size = end - start;
    const rel = m - start;
    if (rel === size) {
      if (!whole) ranges.push({ start, end });
      break;
    }
    const k = splitPoint(size);
    if (rel <= k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
      whole = false;
    }
  }
  return ranges.reverse();
}

/** MTH of any run of leaves, given their leaf hashes from `offset` on. */
export function rangeHash(leaves: readonly Hash[], range: LeafRange, offset = 0): Hash {
  return rootOf(leaves.slice(range.start - offset, range.end - offset));
}

/** An inclusion proof computed from all the leaves (small trees, tests). */
export function inclusionProof(m: number, leaves: readonly Hash[]): Hash[] {
  return inclusionRanges(m, leaves.length).map((range) => rangeHash(leaves, range));
}

/** A consistency proof computed from all the leaves (small trees, tests). */
export function consistencyProof(m: number, leaves: readonly Hash[]): Hash[] {
  return consistencyRanges(m, leaves.length).map((range) => rangeHash(leaves, range));
}

/**
 * Verifies that `leaf` is leaf `index` of the tree of `size` leaves whose
 * root is `root` (RFC 9162 §2.1.3.2, step by step).
 */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Hash,
  proof: readonly Hash[],
  root: Hash,
): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size)) || index < 0) return false;
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalHashes(r, root);
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree
 * of `size1` leaves with root `root1` (RFC 9162 §2.1.4.2, step by step).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Hash,
  root2: Hash,
  proof: readonly Hash[],
): boolean {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2))) return false;
  if (size1 < 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equalHashes(root1, root2);
  // Every tree extends the empty tree; RFC 9162 defines no proof from 0.
  if (size1 === 0) return proof.length === 0;
  let path = [...proof];
  // Step 1: if size1 is a power of two, its root is the proof's first node.
  if (isPowerOfTwo(size1)) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 3: right-shift both while LSB(fn) is set.
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const [first, ...rest] = path;
  if (!first) return false;
  let fr = first;
  let sr = first;
  for (const c of rest) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return equalHashes(fr, root1) && equalHashes(sr, root2) && sn === 0;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}
