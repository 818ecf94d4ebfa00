import { canonicalJson } from "./chain.js";

/**
 * The entries of a tenant's Merkle log (docs/design.md §6; docs/proof-log.md gives
 * each kind's members). An entry's bytes are the RFC 8785 (JCS) text of its
 * JSON content, UTF-8; its leaf hash is SHA-256(0x00 ‖ bytes). An entry
 * commits to the keyed hash of the address (`subject`), never the address,
 * so erasure removes the address and every hash stays.
 *
 * Members are built in canonical (sorted) order, so canonicalJson writes
 * each entry with one JSON.stringify (a send serialises one per recipient).
 */

export const ENTRY_VERSION = 1;

/** A justification as its log entry records it: the decision, never the delivery outcome. */
export interface JustificationEntryFields {
  id: string;
  messageId: string;
  subjectKey: string;
  topic: string;
  decision: string;
  basis: string | null;
  reasons: readonly string[];
  ruleSet: string;
  evidence: readonly unknown[];
  trace: readonly unknown[];
  decidedAt: number;
  supersedes: string | null;
}

export function justificationEntry(row: JustificationEntryFields) {
  return {
    basis: row.basis,
    decidedAt: new Date(row.decidedAt).toISOString(),
    decision: row.decision,
    evidence: row.evidence,
    id: row.id,
    message: row.messageId,
    reasons: row.reasons,
    ruleSet: row.ruleSet,
    subject: row.subjectKey,
    supersedes: row.supersedes,
    topic: row.topic,
    trace: row.trace,
    type: "justification",
    v: ENTRY_VERSION,
  };
}

/** An evidence event as its log entry records it: its non-personal part. */
export interface EvidenceEntryFields {
  id: string;
  subjectKey: string;
  kind: string;
  topic: string | null;
  occurredAt: number;
  recordedAt: number;
  data: Record<string, unknown>;
}

export function evidenceEntry(row: EvidenceEntryFields) {
  return {
    data: row.data,
    id: row.id,
    kind: row.kind,
    occurredAt: new Date(row.occurredAt).toISOString(),
    recordedAt: new Date(row.recordedAt).toISOString(),
    subject: row.subjectKey,
    topic: row.topic,
    type: "evidence",
    v: ENTRY_VERSION,
  };
}

/**
 * The first entry of a log opened on a database whose proofs were per-row
 * hash chains (an earlier version): the heads of those chains, verified
 * when this entry was written, so the old history is committed to by the
 * new log (docs/design.md §6, "Upgrading").
 */
export interface ChainHeadsEntryFields {
  heads: Record<string, { seq: number; hash: string }>;
  /** Whether every chain verified from its start to its head when the entry was written. */
  verified: boolean;
  verifiedAt: number;
}

export function chainHeadsEntry(fields: ChainHeadsEntryFields) {
  return {
    heads: fields.heads,
    type: "chains",
    v: ENTRY_VERSION,
    verified: fields.verified,
    verifiedAt: new Date(fields.verifiedAt).toISOString(),
  };
}

/** The entry's bytes: its JCS text (as a string; UTF-8 when hashed). */
export function entryText(content: unknown): string {
  return canonicalJson(content);
}
