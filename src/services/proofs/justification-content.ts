import type { justifications } from "../../db/schema.js";

export type JustificationRow = typeof justifications.$inferSelect;

/**
 * The hashed content of a justification (docs/proof-log.md). It commits to
 * the keyed hash of the address, never the address, so erasure can remove
 * the address and the chain still verifies (docs/design.md §6). The delivery outcome
 * is not part of it: the decision itself never changes.
 */
export function justificationContent(
  row: Pick<
    JustificationRow,
    | "tenantId"
    | "seq"
    | "prevHash"
    | "id"
    | "messageId"
    | "subjectKey"
    | "topic"
    | "decision"
    | "basis"
    | "reasons"
    | "ruleSet"
    | "evidence"
    | "trace"
    | "decidedAt"
    | "supersedes"
  >,
) {
  // Members in canonical (sorted) order, as the core builds trace steps and
  // evidence references too: canonicalJson then writes the content with one
  // JSON.stringify. A row stored in another order (older versions) takes
  // canonicalJson's sorting path; the hashed text is the same either way.
  return {
    basis: row.basis,
    decidedAt: new Date(row.decidedAt).toISOString(),
    decision: row.decision,
    evidence: row.evidence,
    id: row.id,
    message: row.messageId,
    prev: row.prevHash,
    reasons: row.reasons,
    ruleSet: row.ruleSet,
    seq: row.seq,
    subject: row.subjectKey,
    supersedes: row.supersedes,
    tenant: row.tenantId,
    topic: row.topic,
    trace: row.trace,
    v: 1,
  };
}
