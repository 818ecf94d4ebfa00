import { and, eq, inArray } from "drizzle-orm";
import { evidence, subjects } from "../db/schema.js";
import { type EvidenceEvent, type SubjectFacts, UNKNOWN_FACTS } from "../domain/evidence.js";
import type { Deps } from "./deps.js";
import { toDomainEvent } from "./evidence/to-domain.js";

/** What the decision needs to know about one subject. */
export interface SubjectHistory {
  facts: SubjectFacts;
  evidence: EvidenceEvent[];
}

/** SQLite's default limit on bound parameters leaves room for this many keys. */
const KEYS_PER_QUERY = 500;

/**
 * Loads the facts and evidence of many subjects at once: two queries per
 * 500 subjects, never one per subject (deciding for thousands of
 * recipients is a hot path).
 */
export async function loadSubjectHistories(
  deps: Deps,
  tenantId: string,
  subjectKeys: readonly string[],
): Promise<Map<string, SubjectHistory>> {
  const histories = new Map<string, SubjectHistory>();
  for (const key of subjectKeys) histories.set(key, { facts: UNKNOWN_FACTS, evidence: [] });
  const unique = [...histories.keys()];
  for (let start = 0; start < unique.length; start += KEYS_PER_QUERY) {
    const keys = unique.slice(start, start + KEYS_PER_QUERY);
    const [subjectRows, evidenceRows] = await Promise.all([
      deps.db
        .select({
          subjectKey: subjects.subjectKey,
          country: subjects.country,
          subscriberType: subjects.subscriberType,
          birthYear: subjects.birthYear,
          ageVerified: subjects.ageVerified,
        })
        .from(subjects)
        .where(and(eq(subjects.tenantId, tenantId), inArray(subjects.subjectKey, keys))),
      deps.db
        .select({
          id: evidence.id,
          subjectKey: evidence.subjectKey,
          kind: evidence.kind,
          topic: evidence.topic,
          occurredAt: evidence.occurredAt,
          data: evidence.data,
        })
        .from(evidence)
        .where(and(eq(evidence.tenantId, tenantId), inArray(evidence.subjectKey, keys))),
    ]);
    for (const { subjectKey, ...facts } of subjectRows) {
      const history = histories.get(subjectKey);
      if (history) history.facts = facts;
    }
    for (const row of evidenceRows) {
      const event = toDomainEvent(row);
      if (event) histories.get(row.subjectKey)?.evidence.push(event);
    }
  }
  return histories;
}
