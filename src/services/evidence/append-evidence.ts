import { and, eq, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { insertJsonRows } from "../../db/json-rows.js";
import { chainAdoptions, evidence } from "../../db/schema.js";
import { GENESIS } from "../../domain/proof/chain.js";
import { linkEvidence } from "../../domain/proof/evidence-chain.js";
import { entryText, evidenceEntry } from "../../domain/proof/log-entry.js";
import type { Deps } from "../deps.js";
import { anyWebhookEvent, webhookStatements } from "../outbound-webhooks/enqueue.js";
import { appendToChain, type ChainHead, errorText } from "../proofs/append-to-chain.js";

type EvidenceInsert = typeof evidence.$inferInsert;
type EvidenceRow = typeof evidence.$inferSelect;

/** An evidence event before it is linked onto the tenant's evidence chain. */
export type EvidenceDraft = Omit<EvidenceInsert, "seq" | "prevHash" | "hash" | "leafIndex">;

/** What an evidence write consists of, decided after the chain's head was read. */
export interface EvidencePlan<R> {
  /** The new events, chained in this order. */
  evidence: readonly EvidenceDraft[];
  /** Statements written before the events, in the same batch (the subject, …). */
  before?: BatchItem<"sqlite">[];
  /** Statements written after the events, in the same batch. */
  after?: BatchItem<"sqlite">[];
  result: R;
  /**
   * No outbound webhooks for these events: an import copies the tenant's own
   * history into Grounds; its tools already know it.
   */
  quiet?: boolean;
  /** An erasure's address as given: the batch removes it from the subject's row. */
  erasedAddress?: string;
}

/** Rows per INSERT or UPDATE (one JSON parameter each: the statement's size stays constant). */
const ROWS_PER_STATEMENT = 1000;

/**
 * THE way evidence is written (docs/design.md §6): every evidence event is appended
 * to its tenant's evidence chain, in one atomic batch with whatever goes
 * with it, so a changed, removed or reordered event is detected by
 * `GET /v1/integrity` (docs/proof-log.md, "The evidence chain").
 *
 * `plan` runs after the chain's head is read, and again if another process
 * appended first (append-to-chain.ts), so what it reads to decide what to
 * write (an erasure, events already held) is never older than the head the
 * events are linked to: a write it did not see fails the batch, and it is
 * decided again. An import and an erasure racing cannot both pass.
 *
 * A tenant's first evidence write after the upgrade that brought the
 * evidence chain first chains the events stored before it, in the order
 * they were stored, and records that it did (`chain_adoptions`): they are
 * tamper-evident from then on, and `GET /v1/integrity` says since when.
 */
export async function appendEvidence<R>(
  deps: Deps,
  tenantId: string,
  plan: () => EvidencePlan<R> | Promise<EvidencePlan<R>>,
  retryOn: (error: unknown) => boolean = () => false,
): Promise<R> {
  let notify = false;
  const result = await appendToChain(
    deps,
    tenantId,
    "evidence",
    async (head, log) => {
      const adoption = head ? null : await adoptUnchained(deps, tenantId);
      const start = head ?? adoption?.head ?? { seq: 0, hash: GENESIS };
      const planned = await plan();
      const { evidence: drafts, before = [], after = [], result } = planned;
      for (const draft of drafts) {
        if (draft.tenantId !== tenantId) throw new Error("evidence of another tenant");
      }
      // Each event is also an entry of the tenant's Merkle log, in the same order.
      const rows = linkEvidence(start, drafts.map(chainedFields)).map((row, i) => ({
        ...row,
        leafIndex: log.size + i,
      }));
      const entries = rows.map((row) => ({
        kind: "evidence" as const,
        ref: row.id,
        text: entryText(evidenceEntry(row)),
      }));
      const statements: BatchItem<"sqlite">[] = [...before, ...(adoption?.statements ?? [])];
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        statements.push(
          deps.db.run(insertJsonRows(evidence, rows.slice(i, i + ROWS_PER_STATEMENT))),
        );
      }
      // Outbound webhooks of the events, in the same batch (outbound-webhooks/enqueue.ts).
      if (!planned.quiet) {
        notify = anyWebhookEvent(drafts);
        statements.push(
          ...webhookStatements(deps, tenantId, rows, { erasedAddress: planned.erasedAddress }),
        );
      }
      statements.push(...after);
      const last = rows.at(-1);
      return {
        statements,
        head: last ? { seq: last.seq, hash: last.hash } : (adoption?.head ?? null),
        result,
        entries,
      };
    },
    // An event id already taken: another writer stored the same event (an
    // import's ids are derived from the event) after `plan` read.
    (error) => /UNIQUE constraint failed: evidence\.id/.test(errorText(error)) || retryOn(error),
  );
  // Durable now: the runner may deliver at once (never awaited by the stop).
  if (notify) deps.onWebhooksQueued?.();
  return result;
}

/** Every column of the row (insertJsonRows writes each), unlinked. */
function chainedFields(draft: EvidenceDraft) {
  return {
    id: draft.id,
    tenantId: draft.tenantId,
    subjectKey: draft.subjectKey,
    kind: draft.kind,
    topic: draft.topic ?? null,
    occurredAt: draft.occurredAt,
    recordedAt: draft.recordedAt,
    data: draft.data,
    personal: draft.personal ?? null,
  };
}

/**
 * The statements that chain a tenant's events stored before the evidence
 * chain existed (`seq` null), in the order they were stored (SQLite's
 * rowid), from the genesis; null if there are none.
 */
async function adoptUnchained(
  deps: Deps,
  tenantId: string,
): Promise<{ statements: BatchItem<"sqlite">[]; head: ChainHead } | null> {
  const unchained: EvidenceRow[] = await deps.db
    .select()
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenantId), isNull(evidence.seq)))
    .orderBy(sql`rowid`);
  if (unchained.length === 0) return null;
  const rows = linkEvidence({ seq: 0, hash: GENESIS }, unchained);
  const statements: BatchItem<"sqlite">[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const links = JSON.stringify(
      rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => [r.id, r.seq, r.prevHash, r.hash]),
    );
    // Only rows still unchained: a concurrent adoption chains the same rows
    // to the same values, and the new events after them then collide.
    statements.push(
      deps.db.run(sql`UPDATE evidence SET seq = u.value ->> 1, prev_hash = u.value ->> 2,
        hash = u.value ->> 3
        FROM json_each(${links}) AS u
        WHERE evidence.id = u.value ->> 0 AND evidence.seq IS NULL
          AND +evidence.tenant_id = ${tenantId}`),
    );
  }
  const last = rows.at(-1) as (typeof rows)[number];
  const head = { seq: last.seq, hash: last.hash };
  statements.push(
    deps.db
      .insert(chainAdoptions)
      .values({ tenantId, chain: "evidence", ...head, adoptedAt: deps.clock() })
      .onConflictDoNothing(),
  );
  return { statements, head };
}
