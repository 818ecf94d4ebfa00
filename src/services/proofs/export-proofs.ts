import { and, asc, eq, gt, gte, lte, type SQL } from "drizzle-orm";
import {
  type ChainName,
  chainCheckpoints,
  chainHeads,
  evidence,
  justifications,
} from "../../db/schema.js";
import { normaliseAddress } from "../../domain/address.js";
import { GENESIS } from "../../domain/proof/chain.js";
import { evidenceChainContent } from "../../domain/proof/evidence-chain.js";
import {
  type AnyExportRecord,
  csvHeaderLines,
  csvRecordLine,
  type EvidenceExportRecord,
  type ExportHeader,
  type ExportRecord,
  ndjsonHeaderLine,
  ndjsonRecordLine,
} from "../../domain/proof/export-format.js";
import { type Deps, subjectKeyOf } from "../deps.js";
import { type JustificationRow, justificationContent } from "./justification-content.js";

/** Rows per page of the keyset scan: small enough for constant memory, large enough for speed. */
export const EXPORT_PAGE_ROWS = 2000;

export interface ProofFilters {
  /** ISO 8601; decisions at or after. */
  from?: string | undefined;
  /** ISO 8601; decisions at or before. */
  to?: string | undefined;
  email?: string | undefined;
  messageId?: string | undefined;
  topic?: string | undefined;
  decision?: "send" | "suppress" | undefined;
}

export type ExportFormat = "ndjson" | "csv";

/** Where a tenant's chain starts (genesis, or its retention checkpoint) and its head now. */
export async function chainBounds(
  deps: Deps,
  tenantId: string,
  chain: ChainName = "justifications",
): Promise<{ start: { seq: number; hash: string }; head: { seq: number; hash: string } }> {
  const [[head], [checkpoint]] = await Promise.all([
    deps.db
      .select({ seq: chainHeads.seq, hash: chainHeads.hash })
      .from(chainHeads)
      .where(and(eq(chainHeads.tenantId, tenantId), eq(chainHeads.chain, chain))),
    deps.db
      .select({ seq: chainCheckpoints.seq, hash: chainCheckpoints.hash })
      .from(chainCheckpoints)
      .where(and(eq(chainCheckpoints.tenantId, tenantId), eq(chainCheckpoints.chain, chain))),
  ]);
  const start = checkpoint ?? { seq: 0, hash: GENESIS };
  return { start, head: head ?? start };
}

/** An exported record: every hashed field, the hash, and the unhashed extras. */
export function exportRecord(row: JustificationRow): ExportRecord {
  return {
    ...justificationContent(row),
    hash: row.hash,
    email: row.email,
    status: row.status,
    statusAt: new Date(row.statusAt).toISOString(),
    providerMessageId: row.providerMessageId,
    error: row.error,
  };
}

/**
 * One page of a keyset scan over (tenant_id, seq): `seq > after`, at most up
 * to the head seen when the export began (rows appended later are not part
 * of it), in seq order.
 */
export function proofPage(
  deps: Deps,
  tenantId: string,
  conditions: SQL[],
  after: number,
  upTo: number,
  limit = EXPORT_PAGE_ROWS,
) {
  return deps.db
    .select()
    .from(justifications)
    .where(
      and(
        eq(justifications.tenantId, tenantId),
        gt(justifications.seq, after),
        lte(justifications.seq, upTo),
        ...conditions,
      ),
    )
    .orderBy(asc(justifications.seq))
    .limit(limit);
}

/** A chained evidence row (`seq` and its hashes are set). */
export type ChainedEvidenceRow = typeof evidence.$inferSelect & {
  seq: number;
  prevHash: string;
  hash: string;
};

/**
 * One page of a keyset scan over the evidence chain (tenant_id, seq):
 * `seq > after`, up to `upTo`, in seq order. Events outside the chain (no
 * `seq`) are not in it.
 */
export async function evidencePage(
  deps: Deps,
  tenantId: string,
  after: number,
  upTo: number,
  limit = EXPORT_PAGE_ROWS,
): Promise<ChainedEvidenceRow[]> {
  const rows = await deps.db
    .select()
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenantId), gt(evidence.seq, after), lte(evidence.seq, upTo)))
    .orderBy(asc(evidence.seq))
    .limit(limit);
  return rows as ChainedEvidenceRow[];
}

/** An exported evidence event: its hashed content and its hash, nothing personal. */
export function evidenceExportRecord(row: ChainedEvidenceRow): EvidenceExportRecord {
  return { ...evidenceChainContent(row), hash: row.hash };
}

function conditionsOf(deps: Deps, tenantId: string, filters: ProofFilters): SQL[] {
  const conditions: SQL[] = [];
  if (filters.from) conditions.push(gte(justifications.decidedAt, Date.parse(filters.from)));
  if (filters.to) conditions.push(lte(justifications.decidedAt, Date.parse(filters.to)));
  // By the keyed hash, not the address column: it still matches after an
  // erasure has removed the address (GDPR Art. 17).
  if (filters.email) {
    conditions.push(
      eq(justifications.subjectKey, subjectKeyOf(deps, tenantId, normaliseAddress(filters.email))),
    );
  }
  if (filters.messageId) conditions.push(eq(justifications.messageId, filters.messageId));
  if (filters.topic) conditions.push(eq(justifications.topic, filters.topic));
  if (filters.decision) conditions.push(eq(justifications.decision, filters.decision));
  return conditions;
}

/**
 * Streams a tenant's justifications (docs/design.md §5 `GET /v1/proofs`): a header
 * record, then one record per justification, read page by page as the
 * consumer pulls, so memory stays constant whatever the row count. A
 * ReadableStream, not a Node stream: the same code runs on Workers.
 */
export async function exportProofs(
  deps: Deps,
  tenantId: string,
  filters: ProofFilters,
  format: ExportFormat,
  options: {
    /** After each page: rows exported so far, and the share of the chain scanned (0–1). */
    onRows?: (rows: number, scanned: number) => void;
    pageRows?: number;
    /**
     * The chain to export: the justifications (the default), or the
     * evidence events (docs/proof-log.md, "The evidence chain"), which take
     * no filters: their file is always the whole chain.
     */
    chain?: ChainName;
  } = {},
): Promise<{ header: ExportHeader; stream: ReadableStream<Uint8Array> }> {
  const chain = options.chain ?? "justifications";
  const { start, head } = await chainBounds(deps, tenantId, chain);
  const given = Object.fromEntries(
    Object.entries(filters).filter(([, value]) => value !== undefined && value !== ""),
  ) as Record<string, string>;
  const { email: _email, ...shown } = given;
  const header: ExportHeader = {
    export: "grounds-proofs",
    v: 1,
    tenant: tenantId,
    chain,
    complete: Object.keys(given).length === 0,
    start,
    head,
    // The address is never written into the file's header: it says only
    // that one was given (the rows carry the keyed hash).
    filters: { ...shown, ...(given.email ? { email: "(given)" } : {}) },
    exportedAt: new Date(deps.clock()).toISOString(),
  };
  if (chain === "evidence" && !header.complete) {
    throw new TypeError("An evidence export takes no filters.");
  }
  const conditions = conditionsOf(deps, tenantId, filters);
  const encoder = new TextEncoder();
  const recordLine = (record: AnyExportRecord) =>
    format === "csv" ? csvRecordLine(record, chain) : ndjsonRecordLine(record);
  const read = async (limit: number): Promise<{ seq: number; record: AnyExportRecord }[]> =>
    chain === "evidence"
      ? (await evidencePage(deps, tenantId, after, head.seq, limit)).map((row) => ({
          seq: row.seq,
          record: evidenceExportRecord(row),
        }))
      : (await proofPage(deps, tenantId, conditions, after, head.seq, limit)).map((row) => ({
          seq: row.seq,
          record: exportRecord(row),
        }));
  let after = start.seq;
  let rows = 0;
  let done = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(
          encoder.encode(format === "csv" ? csvHeaderLines(header) : ndjsonHeaderLine(header)),
        );
      },
      async pull(controller) {
        if (done) return;
        const page = await read(options.pageRows ?? EXPORT_PAGE_ROWS);
        let text = "";
        for (const row of page) text += recordLine(row.record);
        rows += page.length;
        const last = page.at(-1);
        if (last) after = last.seq;
        done = page.length < (options.pageRows ?? EXPORT_PAGE_ROWS);
        const span = head.seq - start.seq;
        options.onRows?.(rows, done || span <= 0 ? 1 : (after - start.seq) / span);
        if (text) controller.enqueue(encoder.encode(text));
        if (done) controller.close();
      },
    },
    // One page in flight at a time: the next is read only when this one is taken.
    { highWaterMark: 1 },
  );
  return { header, stream };
}
