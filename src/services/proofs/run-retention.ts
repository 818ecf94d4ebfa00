import { and, asc, eq, gt, gte, inArray, isNotNull, lte } from "drizzle-orm";
import {
  chainCheckpoints,
  justifications,
  logEntries,
  subjects,
  tenants,
} from "../../db/schema.js";
import { decide } from "../../domain/decision/decide.js";
import type { Deps } from "../deps.js";
import { loadSubjectHistories } from "../subject-facts.js";
import { policyOf, type TenantRow } from "../tenant.js";
import { listTopics } from "../topics.js";
import { yieldToOtherWork } from "../yield-to-other-work.js";
import { chainBounds } from "./export-proofs.js";

const DAY = 86_400_000;
/** Rows removed per atomic batch: each batch leaves a chain that verifies from its checkpoint. */
const DELETE_ROWS = 5000;
/** Subjects decided per page when looking for those without a basis. */
const SUBJECT_PAGE = 500;
/** How many subject keys a report lists (the count is always exact). */
const LISTED = 1000;

export interface TenantRetention {
  tenantId: string;
  /** Justifications removed because their retention period ended. */
  removed: number;
  /** The chain's checkpoint afterwards (where it now starts), or null if it starts at the genesis. */
  checkpoint: { seq: number; hash: string } | null;
  /**
   * Subjects of whom mail to no marketing topic would now go: their consent
   * has lapsed (consent lifetime), their soft opt-in window ended, or they
   * objected. Their data has no purpose left; the tenant decides whether to
   * erase it (GDPR Art. 5(1)(e), storage limitation).
   */
  withoutBasis: { count: number; subjects: string[] };
}

/**
 * Retention (docs/design.md §5 `retention`): for each tenant, removes the
 * justifications older than its `proofRetentionDays` (3 years by default:
 * the limitation period for claims an e-mail could give rise to), from the
 * start of the chain only — a row is removed only together with every row
 * before it, so the rest stays one contiguous chain. The `seq` and `hash` of
 * the last removed row become the chain's checkpoint, and the remaining
 * chain verifies from it (docs/proof-log.md). Then it reports the subjects
 * who no longer have any basis. Each batch is atomic (no interactive
 * transaction), so a run cut off midway leaves a chain that verifies.
 */
export async function runRetention(deps: Deps, now: number): Promise<TenantRetention[]> {
  const all = await deps.db.select().from(tenants);
  const results: TenantRetention[] = [];
  for (const tenant of all) results.push(await retainTenant(deps, tenant, now));
  return results;
}

async function retainTenant(deps: Deps, tenant: TenantRow, now: number): Promise<TenantRetention> {
  const cutoff = now - tenant.proofRetentionDays * DAY;
  const { start, head } = await chainBounds(deps, tenant.id);
  // The first row still within retention ends what may go: rows after it
  // stay even if older (the chain is cut only at its start).
  const [keep] = await deps.db
    .select({ seq: justifications.seq })
    .from(justifications)
    .where(and(eq(justifications.tenantId, tenant.id), gte(justifications.decidedAt, cutoff)))
    .orderBy(asc(justifications.seq))
    .limit(1);
  const lastRemovable = keep ? keep.seq - 1 : head.seq;
  let checkpoint = start.seq > 0 ? start : null;
  let removed = 0;
  let from = start.seq;
  while (from < lastRemovable) {
    const to = Math.min(lastRemovable, from + DELETE_ROWS);
    const [last] = await deps.db
      .select({ seq: justifications.seq, hash: justifications.hash })
      .from(justifications)
      .where(and(eq(justifications.tenantId, tenant.id), eq(justifications.seq, to)));
    if (!last) break; // a gap: integrity reports it; retention does not cut around it
    const range = and(
      eq(justifications.tenantId, tenant.id),
      gt(justifications.seq, from),
      lte(justifications.seq, to),
    );
    const [, result] = await deps.db.batch([
      // Their log entries lose their content, never their leaf hash (docs/design.md
      // §6, "Retention"): the tree and every other receipt still verify.
      deps.db
        .update(logEntries)
        .set({ content: null })
        .where(
          and(
            eq(logEntries.tenantId, tenant.id),
            inArray(
              logEntries.idx,
              deps.db
                .select({ idx: justifications.leafIndex })
                .from(justifications)
                .where(and(range, isNotNull(justifications.leafIndex))),
            ),
          ),
        ),
      deps.db.delete(justifications).where(range),
      deps.db
        .insert(chainCheckpoints)
        .values({
          tenantId: tenant.id,
          chain: "justifications",
          seq: last.seq,
          hash: last.hash,
          createdAt: now,
        })
        .onConflictDoUpdate({
          target: [chainCheckpoints.tenantId, chainCheckpoints.chain],
          set: { seq: last.seq, hash: last.hash, createdAt: now },
        }),
    ]);
    removed += result.rowsAffected;
    checkpoint = { seq: last.seq, hash: last.hash };
    from = to;
    await yieldToOtherWork();
  }
  return {
    tenantId: tenant.id,
    removed,
    checkpoint,
    withoutBasis: await subjectsWithoutBasis(deps, tenant, now),
  };
}

/**
 * The subjects of a tenant to whom no marketing topic may be mailed now,
 * decided by the same rules as a send, a page of subjects at a time. Erased
 * subjects are left out: nothing personal is held about them.
 */
async function subjectsWithoutBasis(
  deps: Deps,
  tenant: TenantRow,
  now: number,
): Promise<TenantRetention["withoutBasis"]> {
  const marketing = (await listTopics(deps, tenant.id)).filter((t) => t.class === "marketing");
  const policy = policyOf(tenant);
  const listed: string[] = [];
  let count = 0;
  if (marketing.length === 0) return { count, subjects: listed };
  let after = "";
  for (;;) {
    const page = await deps.db
      .select({ subjectKey: subjects.subjectKey })
      .from(subjects)
      .where(and(eq(subjects.tenantId, tenant.id), gt(subjects.subjectKey, after)))
      .orderBy(asc(subjects.subjectKey))
      .limit(SUBJECT_PAGE);
    if (page.length === 0) break;
    const keys = page.map((row) => row.subjectKey);
    const histories = await loadSubjectHistories(deps, tenant.id, keys);
    for (const key of keys) {
      const history = histories.get(key);
      if (!history || history.evidence.some((event) => event.kind === "erasure")) continue;
      const anyBasis = marketing.some(
        (topic) =>
          decide({
            addressValid: true,
            topic,
            facts: history.facts,
            evidence: history.evidence,
            tenant: policy,
            now,
          }).decision === "send",
      );
      if (!anyBasis) {
        count += 1;
        if (listed.length < LISTED) listed.push(key);
      }
    }
    after = keys.at(-1) ?? after;
    if (page.length < SUBJECT_PAGE) break;
    await yieldToOtherWork();
  }
  return { count, subjects: listed };
}
