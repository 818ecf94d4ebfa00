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
  // Members in canonical (sorted) order: canonicalJson then writes the
  // content with one JSON.stringify (the hashed text is the same either way).
  return {
    basis: row.basis,
    decidedAt: new Date(row.decidedAt).toISOString(),
    decision: row.decision,
    evidence: row.evidence.map(inNameOrder),
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
    trace: row.trace.map(inNameOrder),
    v: 1,
  };
}

/**
 * An object with its members in name order: itself when they are already
 * (as the core builds trace steps and evidence references), else a shallow
 * sorted copy (rows read back from older versions). Anything else as it is.
 */
function inNameOrder(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const names = Object.keys(value);
  if (names.every((name, i) => i === 0 || (names[i - 1] as string) < name)) return value;
  const copy: Record<string, unknown> = {};
  for (const name of names.sort()) {
    copy[name] = (value as Record<string, unknown>)[name];
  }
  return copy;
}
