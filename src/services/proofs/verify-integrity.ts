import { and, eq } from "drizzle-orm";
import { evidence } from "../../db/schema.js";
import { linkHash } from "../../domain/proof/chain.js";
import type { Deps } from "../deps.js";
import { evidenceHash, inJsonArray } from "../subject-facts.js";
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
  /**
   * The evidence the justifications cite: each cited event must still hash
   * to what was cited (docs/proof-log.md, "Evidence hashes"). `altered`
   * lists the first 100 that do not (changed, or gone), with the seq of a
   * justification citing them.
   */
  evidence: {
    checked: number;
    altered: { evidenceId: string; seq: number; problem: "changed" | "missing" }[];
  };
}

const LISTED = 100;

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
  const cited = { checked: 0, altered: [] as ChainReport["evidence"]["altered"] };
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
    await checkCitedEvidence(deps, tenantId, page, cited);
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
    evidence: cited,
  };
  return { ok: chain.ok && cited.altered.length === 0, chains: [chain] };
}

/**
 * Checks, for one page of justifications, that every cited evidence event
 * still hashes to what the justification cited: one query per page, the
 * ids bound as one JSON parameter.
 */
async function checkCitedEvidence(
  deps: Deps,
  tenantId: string,
  page: readonly { seq: number; evidence: unknown[] }[],
  cited: ChainReport["evidence"],
): Promise<void> {
  const citations: { id: string; hash: string; seq: number }[] = [];
  for (const row of page) {
    for (const ref of row.evidence) {
      const { id, hash } = (ref ?? {}) as { id?: unknown; hash?: unknown };
      if (typeof id === "string" && typeof hash === "string") {
        citations.push({ id, hash, seq: row.seq });
      }
    }
  }
  if (citations.length === 0) return;
  const ids = [...new Set(citations.map((c) => c.id))];
  const rows = await deps.db
    .select({
      id: evidence.id,
      kind: evidence.kind,
      topic: evidence.topic,
      occurredAt: evidence.occurredAt,
      data: evidence.data,
    })
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenantId), inJsonArray(evidence.id, ids)));
  const hashes = new Map(rows.map((row) => [row.id, evidenceHash(row)]));
  for (const citation of citations) {
    cited.checked += 1;
    const now = hashes.get(citation.id);
    if (now === citation.hash) continue;
    if (cited.altered.length < LISTED) {
      cited.altered.push({
        evidenceId: citation.id,
        seq: citation.seq,
        problem: now === undefined ? "missing" : "changed",
      });
    }
  }
}
