import { and, asc, eq } from "drizzle-orm";
import { dsrRequests, evidence, justifications, subjects } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { subjectOf } from "../evidence/rows.js";
import { evidenceHash } from "../subject-facts.js";
import { dsrRequestRow, dsrView } from "./dsr-requests.js";

/** Evidence kinds that stop mail to the subject (or lift such a stop). */
const SUPPRESSING = [
  "suppression",
  "suppression-lifted",
  "objection",
  "consent-withdrawn",
  "erasure",
] as const;

export type EvidenceRecord = ReturnType<typeof evidenceRecord>;

function evidenceRecord(row: typeof evidence.$inferSelect) {
  return {
    id: row.id,
    kind: row.kind,
    topic: row.topic,
    occurredAt: new Date(row.occurredAt).toISOString(),
    recordedAt: new Date(row.recordedAt).toISOString(),
    data: row.data,
    personal: row.personal,
    /** The hash a justification cites it by (docs/proof-log.md). */
    hash: evidenceHash(row),
    /**
     * Its place in the tenant's evidence chain (docs/proof-log.md, "The
     * evidence chain"), to tie it to GET /v1/integrity; null for an event
     * outside the chain (stored before it existed and not yet chained).
     */
    chain:
      row.seq === null || row.prevHash === null || row.hash === null
        ? null
        : { seq: row.seq, prev: row.prevHash, hash: row.hash },
  };
}

/** A subject's evidence history, oldest first (docs/design.md §5 `GET /v1/evidence?email=`). */
export async function evidenceHistory(deps: Deps, tenantId: string, email: string) {
  const subject = await subjectOf(deps, tenantId, email);
  const rows = await deps.db
    .select()
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenantId), eq(evidence.subjectKey, subject.subjectKey)))
    .orderBy(asc(evidence.occurredAt), asc(evidence.id));
  return { subject: subject.subjectKey, evidence: rows.map(evidenceRecord) };
}

/**
 * Data-subject access (GDPR Art. 15) in a structured, machine-readable form
 * (Art. 20): everything held about the address — the facts, every evidence
 * event with its personal part, every decision taken about it with its
 * reasons and proof position, the suppressions, and the subject's earlier
 * requests. The request itself is recorded with its date and its one-month
 * deadline (Art. 12(3)); it is answered at once, so it is recorded as done.
 */
export async function accessSubject(deps: Deps, tenantId: string, email: string) {
  const subject = await subjectOf(deps, tenantId, email);
  const request = dsrRequestRow(deps, tenantId, subject.subjectKey, "access", true);
  const ofSubject = <T extends typeof evidence | typeof subjects | typeof justifications>(
    table: T,
  ) => and(eq(table.tenantId, tenantId), eq(table.subjectKey, subject.subjectKey));
  await deps.db.insert(dsrRequests).values(request);
  const [facts, events, decisions, requests] = await Promise.all([
    deps.db.select().from(subjects).where(ofSubject(subjects)),
    deps.db
      .select()
      .from(evidence)
      .where(ofSubject(evidence))
      .orderBy(asc(evidence.occurredAt), asc(evidence.id)),
    deps.db
      .select()
      .from(justifications)
      .where(ofSubject(justifications))
      .orderBy(asc(justifications.seq)),
    deps.db
      .select()
      .from(dsrRequests)
      .where(
        and(eq(dsrRequests.tenantId, tenantId), eq(dsrRequests.subjectKey, subject.subjectKey)),
      )
      .orderBy(asc(dsrRequests.receivedAt)),
  ]);
  const [row] = facts;
  const history = events.map(evidenceRecord);
  return {
    subject: {
      key: subject.subjectKey,
      email: row?.email ?? null,
      country: row?.country ?? null,
      subscriberType: row?.subscriberType ?? null,
      birthYear: row?.birthYear ?? null,
      ageVerified: row?.ageVerified ?? null,
      firstSeen: row ? new Date(row.createdAt).toISOString() : null,
      updated: row ? new Date(row.updatedAt).toISOString() : null,
    },
    evidence: history,
    decisions: decisions.map((j) => ({ ...justificationView(j), email: j.email })),
    suppressions: history.filter((event) =>
      (SUPPRESSING as readonly string[]).includes(event.kind),
    ),
    requests: requests.map(dsrView),
    request: dsrView({ ...request, completedAt: request.completedAt ?? null }),
  };
}

export interface JustificationView {
  id: string;
  seq: number;
  hash: string;
  messageId: string;
  topic: string;
  decision: "send" | "suppress";
  basis: string | null;
  reasons: string[];
  ruleSet: string;
  evidence: unknown[];
  trace: unknown[];
  decidedAt: string;
  supersedes: string | null;
  status: string;
  statusAt: string;
}

/**
 * A stored justification as staff and the data subject read it: times as ISO
 * strings. The access answer (Art. 15) adds the address it was written for;
 * a staff look-up (`lookUpSubject`) shows it once, with the subject's facts.
 */
export function justificationView(j: typeof justifications.$inferSelect): JustificationView {
  return {
    id: j.id,
    seq: j.seq,
    hash: j.hash,
    messageId: j.messageId,
    topic: j.topic,
    decision: j.decision,
    basis: j.basis,
    reasons: j.reasons,
    ruleSet: j.ruleSet,
    evidence: j.evidence,
    trace: j.trace,
    decidedAt: new Date(j.decidedAt).toISOString(),
    supersedes: j.supersedes,
    status: j.status,
    statusAt: new Date(j.statusAt).toISOString(),
  };
}
