import { and, eq, max, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/database.js";
import { evidence, subjects } from "../db/schema.js";
import { type EvidenceEvent, type SubjectFacts, UNKNOWN_FACTS } from "../domain/evidence.js";
import { canonicalJson, sha256HexSync } from "../domain/proof/chain.js";
import type { Deps } from "./deps.js";
import { type EvidenceRow, toDomainEvent } from "./evidence/to-domain.js";

/**
 * The columns of an evidence event that a decision reads and its hash covers
 * (`evidenceHash`): selected as they are wherever either is needed.
 */
export const storedEvidenceColumns = {
  id: evidence.id,
  kind: evidence.kind,
  topic: evidence.topic,
  occurredAt: evidence.occurredAt,
  data: evidence.data,
};

type StoredEvidence = Pick<EvidenceRow, "id" | "kind" | "topic" | "occurredAt" | "data">;

/** What the decision needs to know about one subject. */
export interface SubjectHistory {
  facts: SubjectFacts;
  evidence: EvidenceEvent[];
  /** The stored rows, by id, for hashing the evidence a decision rests on. */
  rows: Map<string, StoredEvidence>;
}

export function emptyHistory(): SubjectHistory {
  return { facts: UNKNOWN_FACTS, evidence: [], rows: new Map() };
}

/**
 * `column IN (the keys)` with the keys bound as ONE JSON array parameter, so a
 * query stays one query whatever the number of keys (SQLite limits the bound
 * parameters of a statement, libSQL's HTTP protocol too).
 */
export function inJsonArray(column: SQLiteColumn, keys: readonly string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`;
}

/**
 * When each of these subjects was last erased (GDPR Art. 17), by subject key;
 * subjects never erased are absent. One query for any number of subjects.
 * Evidence dated at or before that instant is not accepted (docs/design.md §3).
 */
export async function erasedAtOf(
  db: Database,
  tenantId: string,
  subjectKeys: readonly string[],
): Promise<Map<string, number>> {
  if (subjectKeys.length === 0) return new Map();
  const erasures = await db
    .select({ subjectKey: evidence.subjectKey, at: max(evidence.occurredAt) })
    .from(evidence)
    .where(
      and(
        eq(evidence.tenantId, tenantId),
        eq(evidence.kind, "erasure"),
        inJsonArray(evidence.subjectKey, subjectKeys),
      ),
    )
    .groupBy(evidence.subjectKey);
  return new Map(
    erasures.flatMap((row) => (row.at === null ? [] : [[row.subjectKey, row.at] as const])),
  );
}

/** The rows of a `SELECT json_group_array(json_array(…))`: one row, one JSON text. */
async function jsonRows<T>(db: Database, query: SQL): Promise<T[]> {
  const [row] = await db.all<Record<string, string | null>>(query);
  const text = row ? Object.values(row)[0] : null;
  return text ? (JSON.parse(text) as T[]) : [];
}

/**
 * Loads the facts and evidence of many subjects at once: two queries for any
 * number of subjects, never one per subject (deciding for thousands of
 * recipients is a hot path).
 */
export async function loadSubjectHistories(
  deps: Deps,
  tenantId: string,
  subjectKeys: readonly string[],
): Promise<Map<string, SubjectHistory>> {
  const histories = new Map<string, SubjectHistory>();
  for (const key of subjectKeys) if (!histories.has(key)) histories.set(key, emptyHistory());
  if (histories.size === 0) return histories;
  const keys = JSON.stringify([...histories.keys()]);
  // Each read answers ONE row holding all its rows as a JSON array: thousands
  // of rows cross from the engine as one string and one JSON.parse, several
  // times faster than a row object each (the send's hot path).
  const [subjectRows, evidenceRows] = await Promise.all([
    jsonRows<[string, string | null, string | null, number | null, number | null]>(
      deps.db,
      sql`SELECT json_group_array(json_array(${subjects.subjectKey}, ${subjects.country},
            ${subjects.subscriberType}, ${subjects.birthYear}, ${subjects.ageVerified}))
          FROM ${subjects}
          WHERE ${subjects.tenantId} = ${tenantId}
            AND ${subjects.subjectKey} IN (SELECT value FROM json_each(${keys}))`,
    ),
    jsonRows<[string, string, string | null, number, Record<string, unknown>, string, number]>(
      deps.db,
      sql`SELECT json_group_array(json_array(${evidence.id}, ${evidence.kind}, ${evidence.topic},
            ${evidence.occurredAt}, json(${evidence.data}), ${evidence.subjectKey},
            ${evidence.recordedAt}))
          FROM ${evidence}
          WHERE ${evidence.tenantId} = ${tenantId}
            AND ${evidence.subjectKey} IN (SELECT value FROM json_each(${keys}))`,
    ),
  ]);
  for (const [subjectKey, country, subscriberType, birthYear, ageVerified] of subjectRows) {
    const history = histories.get(subjectKey);
    if (!history) continue;
    history.facts = {
      country,
      subscriberType: subscriberType as SubjectFacts["subscriberType"],
      birthYear,
      ageVerified: ageVerified === null ? null : ageVerified === 1,
    };
  }
  for (const [id, kind, topic, occurredAt, data, subjectKey, recordedAt] of evidenceRows) {
    const history = histories.get(subjectKey);
    const row: StoredEvidence = {
      id,
      kind: kind as StoredEvidence["kind"],
      topic,
      occurredAt,
      data,
    };
    const event = toDomainEvent(row, recordedAt);
    if (!history || !event) continue;
    history.evidence.push(event);
    history.rows.set(row.id, row);
  }
  return histories;
}

/**
 * The hash of an evidence event's content as a justification cites it
 * (docs/proof-log.md): a later change of the event is then detectable. The
 * personal part is left out, so erasure does not break it.
 */
export function evidenceHash(row: StoredEvidence): string {
  return sha256HexSync(
    // Members in name order: canonicalJson's fast path (the same text).
    canonicalJson({
      data: row.data,
      id: row.id,
      kind: row.kind,
      occurredAt: row.occurredAt,
      topic: row.topic,
    }),
  );
}
