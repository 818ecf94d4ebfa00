import { sql } from "drizzle-orm";
import type { Deps } from "../deps.js";

/** Why an address is stopped, as `GET /v1/suppressions?reason=` names it (docs/design.md §3 reason codes). */
export const STOP_REASONS = [
  "hard-bounce",
  "spam-complaint",
  "restricted",
  "erased",
  "objected",
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export interface StopView {
  /** The evidence event that stops it. */
  id: string;
  reason: StopReason;
  /** An objection's topic (`*`: all marketing); null for a suppression. */
  topic: string | null;
  /** The address as given; null once erased. */
  email: string | null;
  /** The keyed hash evidence and proofs name the subject by. */
  subject: string;
  since: string;
}

/**
 * A tenant's active suppressions and objections, newest first (docs/design.md §5
 * `GET /v1/suppressions`): for each subject and reason (and topic, for an
 * objection) the latest such event, unless what undoes it came later by
 * the time it happened — a lifting of that suppression, or for an objection
 * or an erasure a consent given after it (docs/design.md §3 rules 1 and 3; an
 * objection to all marketing is re-opened only topic by topic, so it stays
 * listed). `limit + 1` rows after `after` (`[occurredAt, id]`).
 */
export async function listSuppressions(
  deps: Deps,
  tenantId: string,
  page: {
    limit: number;
    after?: readonly [number, string] | undefined;
    reason?: StopReason | undefined;
  },
): Promise<StopView[]> {
  const after = page.after;
  const rows = await deps.db.all<{
    id: string;
    reason: StopReason;
    topic: string | null;
    email: string | null;
    subject: string;
    occurred_at: number;
  }>(sql`SELECT e.id, e.reason, e.topic, s.email, e.subject_key AS subject, e.occurred_at
    FROM (SELECT id, subject_key, occurred_at, kind, topic,
        CASE kind WHEN 'objection' THEN 'objected' WHEN 'erasure' THEN 'erased'
          ELSE data ->> '$.reason' END AS reason
      FROM evidence WHERE tenant_id = ${tenantId}
        AND kind IN ('suppression', 'objection', 'erasure')) AS e
    LEFT JOIN subjects AS s ON s.tenant_id = ${tenantId} AND s.subject_key = e.subject_key
    WHERE (${page.reason ?? null} IS NULL OR e.reason = ${page.reason ?? null})
      AND NOT EXISTS (SELECT 1 FROM evidence AS l
        WHERE l.tenant_id = ${tenantId} AND l.subject_key = e.subject_key
          AND (l.occurred_at > e.occurred_at OR (l.occurred_at = e.occurred_at AND l.id > e.id))
          AND (
            -- a later event of the same stop: that one is listed instead
            (l.kind = e.kind AND (e.kind = 'erasure'
              OR (e.kind = 'suppression' AND l.data ->> '$.reason' = e.reason)
              OR (e.kind = 'objection' AND l.topic IS e.topic)))
            -- what undoes it
            OR (e.kind = 'suppression' AND l.kind = 'suppression-lifted'
              AND l.data ->> '$.reason' = e.reason)
            OR (e.kind = 'objection' AND e.topic <> '*' AND l.kind = 'consent-granted'
              AND l.topic = e.topic)
            OR (e.kind = 'erasure' AND l.kind = 'consent-granted')))
      AND (${after ? after[0] : null} IS NULL OR e.occurred_at < ${after ? after[0] : null}
        OR (e.occurred_at = ${after ? after[0] : null} AND e.id < ${after ? after[1] : null}))
    ORDER BY e.occurred_at DESC, e.id DESC
    LIMIT ${page.limit + 1}`);
  return rows.map((row) => ({
    id: row.id,
    reason: row.reason,
    topic: row.reason === "objected" ? row.topic : null,
    email: row.email,
    subject: row.subject,
    since: new Date(row.occurred_at).toISOString(),
  }));
}
