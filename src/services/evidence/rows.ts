import { and, eq, sql } from "drizzle-orm";
import { type evidence, subjects } from "../../db/schema.js";
import { isValidAddress, normaliseAddress } from "../../domain/address.js";
import { newId } from "../../domain/ids.js";
import { anonymiseIp } from "../../domain/ip.js";
import { normaliseCountry } from "../../domain/rule-sets/index.js";
import { evidenceTimeProblem } from "../../domain/time.js";
import type { SubscriberType } from "../../domain/vocabulary.js";
import { ProblemError } from "../../problems.js";
import { type Deps, subjectKeyOf } from "../deps.js";
import { erasedAtOf } from "../subject-facts.js";
import { appendEvidence } from "./append-evidence.js";

export type EvidenceInsert = typeof evidence.$inferInsert;
export type EvidenceRow = typeof evidence.$inferSelect;

/** Facts about a subject a caller may give with any evidence (docs/design.md §2). */
export interface SubjectFactsInput {
  country?: string | undefined;
  subscriberType?: SubscriberType | undefined;
  birthYear?: number | undefined;
  ageVerified?: boolean | undefined;
}

/**
 * The subject an evidence write is about: its key and the address as given.
 * `email` is null when the subject is known only by its key — a person acting
 * through a link's token (`/u`, `/c`), which never carries the address.
 */
export interface SubjectRef {
  tenantId: string;
  subjectKey: string;
  email: string | null;
}

/** Resolves an address to its subject; an invalid address is refused. */
export async function subjectOf(
  deps: Deps,
  tenantId: string,
  email: string,
  pointer = "/email",
): Promise<SubjectRef> {
  if (!isValidAddress(email)) {
    throw new ProblemError("invalid-request", {
      detail: "The e-mail address is not valid.",
      errors: [{ pointer, detail: "not a valid e-mail address" }],
    });
  }
  const subjectKey = subjectKeyOf(deps, tenantId, normaliseAddress(email));
  return { tenantId, subjectKey, email: email.trim() };
}

/**
 * Upserts the subject row. The address as given is kept for display; after
 * an erasure it comes back only with new evidence (a fresh opt-in). Facts
 * given now replace the ones held; facts not given are kept.
 */
export function upsertSubject(deps: Deps, subject: SubjectRef, facts: SubjectFactsInput = {}) {
  const now = deps.clock();
  if (subject.email === null) {
    // Known by its key only: the row, if there is one, keeps the address it
    // has; none is made up (the evidence alone decides, docs/design.md §3).
    if (hasFacts(facts)) throw new TypeError("Facts need the subject's address.");
    return deps.db
      .update(subjects)
      .set({ updatedAt: now })
      .where(
        and(eq(subjects.tenantId, subject.tenantId), eq(subjects.subjectKey, subject.subjectKey)),
      );
  }
  return deps.db
    .insert(subjects)
    .values({
      tenantId: subject.tenantId,
      subjectKey: subject.subjectKey,
      email: subject.email,
      country: facts.country ? normaliseCountry(facts.country) : null,
      subscriberType: facts.subscriberType ?? null,
      birthYear: facts.birthYear ?? null,
      ageVerified: facts.ageVerified ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: [subjects.tenantId, subjects.subjectKey],
      set: {
        email: sql`coalesce(${subjects.email}, excluded.email)`,
        country: sql`coalesce(excluded.country, ${subjects.country})`,
        subscriberType: sql`coalesce(excluded.subscriber_type, ${subjects.subscriberType})`,
        birthYear: sql`coalesce(excluded.birth_year, ${subjects.birthYear})`,
        ageVerified: sql`coalesce(excluded.age_verified, ${subjects.ageVerified})`,
        updatedAt: now,
      },
    });
}

/** Whether a facts object says anything at all. */
export function hasFacts(facts: SubjectFactsInput | undefined): facts is SubjectFactsInput {
  return (
    facts !== undefined &&
    (facts.country !== undefined ||
      facts.subscriberType !== undefined ||
      facts.birthYear !== undefined ||
      facts.ageVerified !== undefined)
  );
}

/** The evidence row that records a change of facts, for the history. */
export function factsEvent(
  deps: Deps,
  subject: SubjectRef,
  facts: SubjectFactsInput,
): EvidenceInsert {
  const now = deps.clock();
  return newEvidence(deps, subject, {
    kind: "subject-facts",
    at: now,
    data: {},
    personal: {
      ...(facts.country !== undefined ? { country: normaliseCountry(facts.country) } : {}),
      ...(facts.subscriberType !== undefined ? { subscriberType: facts.subscriberType } : {}),
      ...(facts.birthYear !== undefined ? { birthYear: facts.birthYear } : {}),
      ...(facts.ageVerified !== undefined ? { ageVerified: facts.ageVerified } : {}),
    },
  });
}

export function newEvidence(
  deps: Deps,
  subject: SubjectRef,
  event: {
    kind: EvidenceInsert["kind"];
    topic?: string | null;
    at: number;
    data: Record<string, unknown>;
    personal?: Record<string, unknown> | null;
  },
): EvidenceInsert {
  const now = deps.clock();
  const personal = event.personal && Object.keys(event.personal).length > 0 ? event.personal : null;
  return {
    id: newId("ev", now),
    tenantId: subject.tenantId,
    subjectKey: subject.subjectKey,
    kind: event.kind,
    topic: event.topic ?? null,
    occurredAt: event.at,
    recordedAt: now,
    data: event.data,
    personal,
  };
}

/** Personal fields of a source (IP anonymised, docs/design.md §2), without empties. */
export function sourcePersonal(source: {
  ip?: string | undefined;
  userAgent?: string | undefined;
  url?: string | undefined;
}): Record<string, string> {
  const out: Record<string, string> = {};
  if (source.ip) {
    const ip = anonymiseIp(source.ip);
    if (ip) out.ip = ip;
  }
  if (source.userAgent) out.userAgent = source.userAgent;
  if (source.url) out.sourceUrl = source.url;
  return out;
}

/**
 * Evidence cannot be dated in the future: it records what happened. A few
 * minutes of clock skew between the caller and the gateway are allowed (a
 * stop so dated counts from when it is recorded, domain/decision); further
 * ahead, or before 1990, the time is refused and nothing is stored (docs/design.md §2
 * "When an event happened").
 */
export function assertHappened(deps: Deps, at: number, pointer: string): void {
  const problem = evidenceTimeProblem(at, deps.clock());
  if (problem) {
    throw new ProblemError("implausible-time", {
      detail: `The time at ${pointer} is ${problem}.`,
      errors: [{ pointer, detail: problem }],
    });
  }
}

/** What a write answers: the evidence it recorded. */
export interface RecordedEvidence {
  id: string;
  kind: EvidenceRow["kind"];
  topic: string | null;
  at: string;
}

export function recorded(rows: readonly EvidenceInsert[]): RecordedEvidence[] {
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    topic: row.topic ?? null,
    at: new Date(row.occurredAt).toISOString(),
  }));
}

/**
 * Evidence dated before an erasure is never accepted (docs/design.md §3 rule 1): it
 * would not count for the decision, and storing it would bring back personal
 * data the person had erased (GDPR Art. 17). Only what happened after the
 * erasure — a fresh opt-in — is recorded.
 */
export async function assertAfterErasure(
  deps: Deps,
  subject: SubjectRef,
  rows: readonly EvidenceInsert[],
): Promise<void> {
  const erasedAt = (await erasedAtOf(deps.db, subject.tenantId, [subject.subjectKey])).get(
    subject.subjectKey,
  );
  if (erasedAt !== undefined && rows.some((row) => row.occurredAt <= erasedAt)) {
    throw new ProblemError("evidence-predates-erasure", {
      detail:
        "This address was erased; only evidence dated after the erasure (a fresh opt-in) is recorded.",
    });
  }
}

/**
 * Writes the subject and its new evidence in one atomic batch, appended to
 * the tenant's evidence chain (docs/design.md §6). The erasure check runs after the
 * chain's head is read (append-evidence.ts), so an erasure recorded
 * concurrently is seen, or makes the write be decided again.
 */
export function writeEvidence(
  deps: Deps,
  subject: SubjectRef,
  facts: SubjectFactsInput | undefined,
  rows: EvidenceInsert[],
): Promise<RecordedEvidence[]> {
  const all = hasFacts(facts) ? [factsEvent(deps, subject, facts), ...rows] : rows;
  return appendEvidence(deps, subject.tenantId, async () => {
    await assertAfterErasure(deps, subject, rows);
    return {
      before: [upsertSubject(deps, subject, facts)],
      evidence: all,
      result: recorded(rows),
    };
  });
}
