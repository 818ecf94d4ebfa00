import type { justifications } from "../../db/schema.js";

export type JustificationRow = typeof justifications.$inferSelect;

/**
 * The hashed content of a justification (docs/proof-log.md). It commits to
 * the keyed hash of the address, never the address, so erasure can remove
 * the address and the chain still verifies (DESIGN §6). The delivery outcome
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
  return {
    v: 1,
    tenant: row.tenantId,
    seq: row.seq,
    prev: row.prevHash,
    id: row.id,
    message: row.messageId,
    subject: row.subjectKey,
    topic: row.topic,
    decision: row.decision,
    basis: row.basis,
    reasons: row.reasons,
    ruleSet: row.ruleSet,
    evidence: row.evidence,
    trace: row.trace,
    decidedAt: new Date(row.decidedAt).toISOString(),
    supersedes: row.supersedes,
  };
}
