import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { insertJsonRows } from "../../db/json-rows.js";
import { evidence, importChunks, importRejections, imports, subjects } from "../../db/schema.js";
import { normaliseAddress } from "../../domain/address.js";
import { normaliseCountry } from "../../domain/rule-sets/index.js";
import { type Deps, subjectKeyOf } from "../deps.js";
import { appendEvidence } from "../evidence/append-evidence.js";
import {
  type EvidenceInsert,
  factsEvent,
  hasFacts,
  newEvidence,
  type SubjectFactsInput,
  type SubjectRef,
} from "../evidence/rows.js";
import { tenantSendGridMapping } from "../settings/settings.js";
import { erasedAtOf, inJsonArray } from "../subject-facts.js";
import { listTopics } from "../topics.js";
import { yieldToOtherWork } from "../yield-to-other-work.js";
import {
  type ImportContext,
  type ImportEvent,
  ImportFileError,
  type ImportOptions,
  type ImportRow,
  mapperFor,
  type RowMapper,
} from "./formats.js";
import { discard, type ImportRow as JobRow } from "./jobs.js";
import { csvRecords, ndjsonRecords } from "./read.js";

/**
 * Processing an import: the stored text is read chunk by chunk, each record
 * mapped to evidence (or refused), and the evidence written in batches of
 * 2,000 rows, each batch one transaction with the job's progress, so the job
 * always says exactly how far it got and resumes from there after a restart.
 */

/**
 * Rows per transaction. A commit costs a sync of the log to disk (~30 ms
 * here), so a transaction writes a good many rows; it still holds the write
 * lock for only a fraction of a second.
 */
const ROWS_PER_BATCH = 2_000;
/** A processor holds a job this long past its last batch; then another may take it over. */
export const LEASE_MS = 60_000;

export const ERASED_REASON =
  "dated before this address was erased (GDPR Art. 17): only a consent given after the erasure is taken";

/** How far a job has got, after each batch. */
export interface ImportProgress {
  processed: number;
  imported: number;
  skipped: number;
  rejected: number;
  /** Share of the file read, 0 to 1. */
  progress: number;
}

export type ProcessOutcome = "done" | "failed" | "stopped" | "busy";

/**
 * The id of an imported event, derived from what makes it the same event
 * (tenant, subject, kind, topic, time or identity), so importing a file
 * again, or a second file holding the same fact, adds nothing.
 */
export function importedEvidenceId(
  tenantId: string,
  subjectKey: string,
  event: Pick<ImportEvent, "kind" | "topic" | "identity">,
): string {
  const text = ["import", tenantId, subjectKey, event.kind, event.topic ?? "", event.identity];
  return `ev_${bytesToHex(sha256(utf8ToBytes(text.join("\n")))).slice(0, 32)}`;
}

/** Takes the job if nobody holds it: queued, or processing with a lapsed lease. */
async function claim(deps: Deps, importId: string): Promise<JobRow | undefined> {
  const now = deps.clock();
  const [job] = await deps.db
    .update(imports)
    .set({ status: "processing", leaseUntil: now + LEASE_MS, updatedAt: now })
    .where(
      and(
        eq(imports.id, importId),
        inArray(imports.status, ["queued", "processing"]),
        or(isNull(imports.leaseUntil), lt(imports.leaseUntil, now)),
      ),
    )
    .returning();
  return job;
}

async function* storedText(deps: Deps, job: JobRow): AsyncGenerator<string> {
  for (let seq = 0; seq < job.chunks; seq++) {
    const [chunk] = await deps.db
      .select({ text: importChunks.text })
      .from(importChunks)
      .where(and(eq(importChunks.importId, job.id), eq(importChunks.seq, seq)));
    if (!chunk) throw new Error(`import chunk ${seq} is missing`);
    yield chunk.text;
  }
}

/**
 * Processes (or resumes) import `importId`. Answers `busy` when another
 * processor holds it, `stopped` when `signal` stopped it between batches
 * (it is then resumable at once).
 */
export async function processImport(
  deps: Deps,
  importId: string,
  options: { signal?: AbortSignal; onProgress?: (progress: ImportProgress) => void } = {},
): Promise<ProcessOutcome> {
  const job = await claim(deps, importId);
  if (!job) return "busy";
  const ctx: ImportContext = {
    importId: job.id,
    format: job.format,
    options: job.options as unknown as ImportOptions,
    topics: new Map((await listTopics(deps, job.tenantId)).map((t) => [t.id, t])),
    ...(job.format === "sendgrid"
      ? { asmGroups: (await tenantSendGridMapping(deps, job.tenantId)).asmGroups }
      : {}),
    now: deps.clock(),
  };
  const totals: ImportProgress = {
    processed: job.processed,
    imported: job.imported,
    skipped: job.skipped,
    rejected: job.rejected,
    progress: job.chars === 0 ? 0 : job.position / job.chars,
  };
  try {
    const text = storedText(deps, job);
    const batches = job.format === "ndjson" ? ndjsonRecords(text) : csvRecords(text);
    let mapper: RowMapper | undefined = job.format === "ndjson" ? mapperFor(ctx, null) : undefined;
    let seen = 0;
    let rows: ImportRow[] = [];
    let position = 0;
    const flush = async () => {
      const counts = await writeBatch(deps, job, rows, { processed: seen, position });
      rows = [];
      totals.processed = seen;
      totals.imported += counts.imported;
      totals.skipped += counts.skipped;
      totals.rejected += counts.rejected;
      totals.progress = job.chars === 0 ? 1 : Math.min(1, position / job.chars);
      options.onProgress?.({ ...totals });
      // A million-row import must not keep the gateway from answering.
      await yieldToOtherWork();
    };
    for await (const batch of batches) {
      position = batch.position;
      for (const record of batch.records) {
        if (!mapper) {
          if (!record.fields) throw new ImportFileError("the header row could not be read");
          mapper = mapperFor(ctx, record.fields);
          continue;
        }
        seen++;
        // Rows done before a restart are done.
        if (seen <= job.processed) continue;
        rows.push(mapper(record));
        if (rows.length >= ROWS_PER_BATCH) {
          await flush();
          if (options.signal?.aborted) {
            await deps.db.update(imports).set({ leaseUntil: null }).where(eq(imports.id, job.id));
            return "stopped";
          }
        }
      }
    }
    await flush();
    const now = deps.clock();
    await deps.db.batch([
      deps.db.delete(importChunks).where(eq(importChunks.importId, job.id)),
      deps.db
        .update(imports)
        .set({ status: "done", leaseUntil: null, updatedAt: now, finishedAt: now })
        .where(eq(imports.id, job.id)),
    ]);
    return "done";
  } catch (error) {
    if (error instanceof ImportFileError) {
      await discard(deps, job.id, error.message);
      return "failed";
    }
    // The message may quote SQL parameters (addresses): log its kind only.
    const code = (error as { code?: unknown }).code;
    console.error(
      `[grounds] import ${job.id} stopped: ${error instanceof Error ? error.name : "error"}${code ? ` (${String(code)})` : ""}`,
    );
    await discard(
      deps,
      job.id,
      `stopped by an internal error after ${totals.processed} rows; import the file again (rows already imported are skipped)`,
    ).catch(() => {});
    return "failed";
  }
}

/**
 * No erasure of the row's subject dated at or after the row's earliest
 * event (`notBefore`), checked by the subjects' write itself. (The events
 * need no such check: an erasure recorded after the reads moves the
 * evidence chain's head and fails the batch, which is then decided again.)
 */
const notErasedSince = sql`not exists (select 1 from ${evidence} erased
  where erased.tenant_id = json_extract(value, '$.tenantId')
    and erased.subject_key = json_extract(value, '$.subjectKey')
    and erased.kind = 'erasure'
    and erased.occurred_at >= json_extract(value, '$.notBefore'))`;

/**
 * Writes one batch: the subjects, their evidence, the refused rows and the
 * job's progress, in one transaction. Evidence of a subject dated at or
 * before its erasure is refused (docs/design.md §3 rule 1).
 *
 * The transaction is one `batch` call, not an interactive transaction: on a
 * database file, a write of another request in this process would wait for
 * the lock inside SQLite, blocking the one thread the open transaction needs
 * to finish. What the batch needs to know is read just before it.
 */
async function writeBatch(
  deps: Deps,
  job: JobRow,
  rows: readonly ImportRow[],
  progress: { processed: number; position: number },
): Promise<{ imported: number; skipped: number; rejected: number }> {
  const tenantId = job.tenantId;
  const now = deps.clock();
  const accepted = rows.flatMap((row) => {
    if (!row.ok) return [];
    const subject: SubjectRef = {
      tenantId,
      subjectKey: subjectKeyOf(deps, tenantId, normaliseAddress(row.email)),
      email: row.email,
    };
    return [{ row, subject }];
  });
  // Decided after the evidence chain's head is read, and again if another
  // writer appended first (append-evidence.ts).
  return appendEvidence(deps, tenantId, async () => {
    const keys = [...new Set(accepted.map((a) => a.subject.subjectKey))];
    const erasedAt = await erasedAtOf(deps.db, tenantId, keys);

    // Rejections are rebuilt on every attempt: the erasures may have changed.
    const rejections = rows.flatMap((row) =>
      row.ok ? [] : [{ importId: job.id, line: row.line, reason: row.reason }],
    );
    const evidenceRows: (EvidenceInsert & { notBefore: number })[] = [];
    const idsOfRow: string[][] = [];
    const subjectRows = new Map<string, SubjectInsert & { notBefore: number }>();
    for (const { row, subject } of accepted) {
      const erased = erasedAt.get(subject.subjectKey);
      const notBefore = Math.min(...row.events.map((event) => event.at));
      if (erased !== undefined && notBefore <= erased) {
        rejections.push({ importId: job.id, line: row.line, reason: ERASED_REASON });
        continue;
      }
      const ids: string[] = [];
      for (const event of row.events) {
        const id = importedEvidenceId(tenantId, subject.subjectKey, event);
        evidenceRows.push({ ...newEvidence(deps, subject, event), id, notBefore });
        ids.push(id);
      }
      if (hasFacts(row.facts)) {
        const facts = factsEvent(deps, subject, row.facts);
        const id = importedEvidenceId(tenantId, subject.subjectKey, {
          kind: "subject-facts",
          topic: null,
          identity: JSON.stringify(facts.personal),
        });
        evidenceRows.push({ ...facts, id, notBefore });
        ids.push(id);
      }
      idsOfRow.push(ids);
      mergeSubject(subjectRows, subject, row.facts, notBefore, now);
    }

    // A row is imported when it adds an event that neither the database nor
    // an earlier row of the batch holds; otherwise it is skipped.
    const held = evidenceRows.length
      ? await deps.db
          .select({ id: evidence.id })
          .from(evidence)
          .where(
            inJsonArray(
              evidence.id,
              evidenceRows.map((e) => e.id),
            ),
          )
      : [];
    const heldIds = new Set(held.map((h) => h.id));
    const fresh = new Set(evidenceRows.map((e) => e.id));
    for (const id of heldIds) fresh.delete(id);
    let imported = 0;
    for (const ids of idsOfRow) {
      let added = false;
      for (const id of ids) if (fresh.delete(id)) added = true;
      if (added) imported++;
    }
    const skipped = idsOfRow.length - imported;

    const column = (c: { name: string }) => sql.identifier(c.name);
    const current = (c: { name: string }) => sql`${subjects}.${column(c)}`;
    const facts = [
      subjects.country,
      subjects.subscriberType,
      subjects.birthYear,
      subjects.ageVerified,
    ];
    const writes: BatchItem<"sqlite">[] = [];
    if (subjectRows.size > 0) {
      // An import fills in what is not known, and never overwrites what was
      // recorded since: a file is older than what the API was told. After an
      // erasure the address comes back only with new evidence, and only
      // evidence after the erasure gets this far. With nothing to fill in,
      // the row is left as it is (a re-run changes nothing).
      writes.push(
        deps.db.run(
          sql`${insertJsonRows(subjects, [...subjectRows.values()], notErasedSince)}
          on conflict (${column(subjects.tenantId)}, ${column(subjects.subjectKey)}) do update set
          ${sql.join(
            [subjects.email, ...facts].map(
              (c) => sql`${column(c)} = coalesce(${current(c)}, excluded.${column(c)})`,
            ),
            sql`, `,
          )},
          ${column(subjects.updatedAt)} = excluded.${column(subjects.updatedAt)}
          where ${current(subjects.email)} is null or ${sql.join(
            facts.map((c) => sql`(${current(c)} is null and excluded.${column(c)} is not null)`),
            sql` or `,
          )}`,
        ),
      );
    }
    const after: BatchItem<"sqlite">[] = [];
    if (rejections.length > 0) {
      after.push(
        deps.db.run(sql`${insertJsonRows(importRejections, rejections)} on conflict do nothing`),
      );
    }
    // Exactly the new events, each once, chained in file order: a re-run of
    // the same file adds nothing to the chain. No write-time filter may drop
    // a row of them (it would leave a gap in the chain): an erasure recorded
    // after the reads above has moved the chain's head, so this batch fails
    // and is decided again, and finds it (append-evidence.ts).
    const added = new Set<string>();
    const newEvents = evidenceRows.flatMap(({ notBefore: _notBefore, ...row }) => {
      if (heldIds.has(row.id) || added.has(row.id)) return [];
      added.add(row.id);
      return [row];
    });
    const before: BatchItem<"sqlite">[] = [
      deps.db
        .update(imports)
        .set({
          processed: progress.processed,
          position: progress.position,
          imported: sql`${imports.imported} + ${imported}`,
          skipped: sql`${imports.skipped} + ${skipped}`,
          rejected: sql`${imports.rejected} + ${rejections.length}`,
          leaseUntil: now + LEASE_MS,
          updatedAt: now,
        })
        .where(eq(imports.id, job.id)),
      ...writes,
    ];
    return {
      before,
      evidence: newEvents,
      after,
      result: { imported, skipped, rejected: rejections.length },
      // The tenant's own history: its tools are not told of it again by webhooks.
      quiet: true,
    };
  });
}

type SubjectInsert = typeof subjects.$inferInsert;

/** One subject row per subject of a batch: the first address given, facts filled in. */
function mergeSubject(
  rows: Map<string, SubjectInsert & { notBefore: number }>,
  subject: SubjectRef,
  facts: SubjectFactsInput | undefined,
  notBefore: number,
  now: number,
) {
  const held = rows.get(subject.subjectKey) ?? {
    tenantId: subject.tenantId,
    subjectKey: subject.subjectKey,
    email: subject.email,
    country: null,
    subscriberType: null,
    birthYear: null,
    ageVerified: null,
    createdAt: now,
    updatedAt: now,
    notBefore,
  };
  held.notBefore = Math.min(held.notBefore, notBefore);
  if (facts) {
    if (held.country == null && facts.country) held.country = normaliseCountry(facts.country);
    held.subscriberType ??= facts.subscriberType ?? null;
    held.birthYear ??= facts.birthYear ?? null;
    held.ageVerified ??= facts.ageVerified ?? null;
  }
  rows.set(subject.subjectKey, held);
}

/**
 * Takes up imports left unfinished (a restart cut them off), one after the
 * other; an upload cut off half-way is marked failed (the client was told
 * nothing but an error, and must send it again).
 */
export async function resumeImports(deps: Deps): Promise<void> {
  const now = deps.clock();
  const stale = await deps.db
    .select({ id: imports.id })
    .from(imports)
    .where(and(eq(imports.status, "receiving"), lt(imports.updatedAt, now - 10 * 60_000)));
  for (const { id } of stale) await discard(deps, id, "the upload did not complete");
  const open = await deps.db
    .select({ id: imports.id })
    .from(imports)
    .where(
      and(
        inArray(imports.status, ["queued", "processing"]),
        or(isNull(imports.leaseUntil), lt(imports.leaseUntil, now)),
      ),
    )
    .orderBy(asc(imports.createdAt));
  for (const { id } of open) await processImport(deps, id);
}
