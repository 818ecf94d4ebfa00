import { and, count, eq, isNull } from "drizzle-orm";
import { chainAdoptions, evidence } from "../../db/schema.js";
import { type ChainBreak, verifyChain } from "../../domain/proof/chain.js";
import { verifyEvidenceChain } from "../../domain/proof/evidence-chain.js";
import type { Deps } from "../deps.js";
import { evidenceHash, inJsonArray, storedEvidenceColumns } from "../subject-facts.js";
import { yieldToOtherWork } from "../yield-to-other-work.js";
import { chainBounds, EXPORT_PAGE_ROWS, evidencePage, proofPage } from "./export-proofs.js";
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

/**
 * The evidence chain (docs/proof-log.md, "The evidence chain"): every
 * evidence event of the tenant, chained like the justifications.
 */
export interface EvidenceChainReport {
  name: "evidence";
  rows: number;
  start: { seq: number; hash: string };
  head: { seq: number; hash: string };
  ok: boolean;
  break?: { seq: number; problem: IntegrityProblem; expected?: number };
  /**
   * Events outside the chain (no `seq`): stored before the chain existed and
   * not chained yet (the tenant's next evidence write chains them), or
   * written around it. Either way not tamper-evident: `ok` is false.
   */
  unchained: number;
  /**
   * Events stored before the chain existed were chained when this says,
   * up to `seq`: they are tamper-evident from `at`, not from when they were
   * recorded. Null if the chain holds no such events.
   */
  adopted: { seq: number; hash: string; at: string } | null;
}

export interface ChainsReport {
  ok: boolean;
  /** Every chain of the tenant: the justifications first, then the evidence. */
  chains: [ChainReport, EvidenceChainReport];
}

const LISTED = 100;

/**
 * Verifies every chain of a tenant (docs/design.md §6, docs/proof-log.md): the
 * justifications and the evidence events are read in pages of a keyset
 * scan, in seq order, from the genesis or the retention checkpoint, and
 * each row's hash, link and sequence are recomputed; then the last row must
 * be the stored head, so a truncated log is detected too. Memory stays
 * constant.
 */
export async function verifyChains(deps: Deps, tenantId: string): Promise<ChainsReport> {
  const justificationChain = await verifyJustifications(deps, tenantId);
  const evidenceChain = await verifyEvidence(deps, tenantId);
  return {
    ok:
      justificationChain.ok && justificationChain.evidence.altered.length === 0 && evidenceChain.ok,
    chains: [justificationChain, evidenceChain],
  };
}

async function verifyJustifications(deps: Deps, tenantId: string): Promise<ChainReport> {
  const { start, head } = await chainBounds(deps, tenantId, "justifications");
  const cited = { checked: 0, altered: [] as ChainReport["evidence"]["altered"] };
  const scan = await scanChain(
    start,
    head,
    (after) => proofPage(deps, tenantId, [], after, Number.MAX_SAFE_INTEGER),
    (from, page) =>
      verifyChain(
        from,
        page.map((row) => ({ ...justificationContent(row), hash: row.hash })),
      ),
    (page) => checkCitedEvidence(deps, tenantId, page, cited),
  );
  return {
    name: "justifications",
    rows: scan.rows,
    start,
    head,
    ok: !scan.break,
    ...(scan.break ? { break: scan.break } : {}),
    evidence: cited,
  };
}

async function verifyEvidence(deps: Deps, tenantId: string): Promise<EvidenceChainReport> {
  const [{ start, head }, [outside], [adoption]] = await Promise.all([
    chainBounds(deps, tenantId, "evidence"),
    deps.db
      .select({ n: count() })
      .from(evidence)
      .where(and(eq(evidence.tenantId, tenantId), isNull(evidence.seq))),
    deps.db
      .select()
      .from(chainAdoptions)
      .where(and(eq(chainAdoptions.tenantId, tenantId), eq(chainAdoptions.chain, "evidence"))),
  ]);
  const scan = await scanChain(
    start,
    head,
    (after) => evidencePage(deps, tenantId, after, Number.MAX_SAFE_INTEGER),
    verifyEvidenceChain,
  );
  const unchained = outside?.n ?? 0;
  return {
    name: "evidence",
    rows: scan.rows,
    start,
    head,
    ok: !scan.break && unchained === 0,
    ...(scan.break ? { break: scan.break } : {}),
    unchained,
    adopted: adoption
      ? {
          seq: adoption.seq,
          hash: adoption.hash,
          at: new Date(adoption.adoptedAt).toISOString(),
        }
      : null,
  };
}

/**
 * Reads a chain in pages of rows with `seq` above the last one read — also
 * beyond the stored head (a row added behind the head's back) — verifying
 * each page from where the one before ended; then the end must be the head.
 */
async function scanChain<Row extends { seq: number; hash: string }>(
  start: { seq: number; hash: string },
  head: { seq: number; hash: string },
  page: (after: number) => Promise<Row[]>,
  verify: (from: { seq: number; hash: string }, rows: Row[]) => ChainBreak | null,
  onVerifiedPage?: (rows: Row[]) => Promise<void>,
): Promise<{ rows: number; break?: EvidenceChainReport["break"] }> {
  let at = start;
  let rows = 0;
  for (;;) {
    const read = await page(at.seq);
    const broken = verify(at, read);
    if (broken) {
      rows += (broken.problem === "gap" ? broken.expected : broken.seq) - at.seq - 1;
      return { rows, break: broken };
    }
    await onVerifiedPage?.(read);
    rows += read.length;
    const last = read.at(-1);
    if (last) at = { seq: last.seq, hash: last.hash };
    if (!last || read.length < EXPORT_PAGE_ROWS) break;
    // A log of millions of rows must not keep the gateway from answering.
    await yieldToOtherWork();
  }
  if (at.seq !== head.seq || at.hash !== head.hash) {
    return { rows, break: { seq: at.seq + 1, problem: "truncated" } };
  }
  return { rows };
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
    .select(storedEvidenceColumns)
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
