import { linkHash } from "../../domain/proof/chain.js";
import type { Deps } from "../deps.js";
import { chainBounds, EXPORT_PAGE_ROWS, proofPage } from "./export-proofs.js";
import { justificationContent } from "./justification-content.js";

export type IntegrityProblem = "hash-mismatch" | "broken-link" | "gap" | "truncated";

export interface ChainReport {
  name: "justifications";
  rows: number;
  /** Where verification started: the genesis (seq 0) or a retention checkpoint. */
  start: { seq: number; hash: string };
  /** The stored head. */
  head: { seq: number; hash: string };
  ok: boolean;
  break?: { seq: number; problem: IntegrityProblem; expected?: number };
}

/**
 * Verifies every chain of a tenant (DESIGN §6, docs/proof-log.md): the
 * justifications are read in pages of a keyset scan, in seq order, from the
 * genesis or the retention checkpoint, and each row's hash, link and
 * sequence are recomputed; then the last row must be the stored head, so a
 * truncated log is detected too. Memory stays constant.
 */
export async function verifyIntegrity(
  deps: Deps,
  tenantId: string,
): Promise<{ ok: boolean; chains: ChainReport[] }> {
  const { start, head } = await chainBounds(deps, tenantId);
  let expected = start.seq + 1;
  let prev = start.hash;
  let rows = 0;
  let broken: ChainReport["break"];
  // Every row, also beyond the stored head (a row added behind the head's back).
  let after = start.seq;
  scan: for (;;) {
    const page = await proofPage(deps, tenantId, [], after, Number.MAX_SAFE_INTEGER);
    for (const row of page) {
      if (row.seq !== expected) {
        broken = { seq: row.seq, problem: "gap", expected };
        break scan;
      }
      if (row.prevHash !== prev) {
        broken = { seq: row.seq, problem: "broken-link" };
        break scan;
      }
      if (linkHash(justificationContent(row)) !== row.hash) {
        broken = { seq: row.seq, problem: "hash-mismatch" };
        break scan;
      }
      prev = row.hash;
      expected += 1;
      rows += 1;
    }
    const last = page.at(-1);
    if (!last || page.length < EXPORT_PAGE_ROWS) break;
    after = last.seq;
  }
  if (!broken && (expected - 1 !== head.seq || prev !== head.hash)) {
    broken = { seq: expected, problem: "truncated" };
  }
  const chain: ChainReport = {
    name: "justifications",
    rows,
    start,
    head,
    ok: !broken,
    ...(broken ? { break: broken } : {}),
  };
  return { ok: chain.ok, chains: [chain] };
}
