import { and, asc, eq, gt } from "drizzle-orm";
import { storageFaultOf } from "../../db/errors.js";
import { importChunks, importRejections, imports } from "../../db/schema.js";
import { newId } from "../../domain/ids.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { requireTopics } from "../topics.js";
import { CSV_COLUMNS, type ImportFormat, type ImportOptions } from "./formats.js";

export type ImportRow = typeof imports.$inferSelect;

/** An import as the API shows it (docs/design.md §5 `GET /v1/imports/{id}`). */
export interface ImportView {
  id: string;
  status: ImportRow["status"];
  format: ImportFormat;
  topics: string[];
  /** Rows of the file read so far (the header is not a row). */
  processed: number;
  /** Rows that added evidence. */
  imported: number;
  /** Rows whose evidence was all held already (a re-run, or a duplicate within the file). */
  skipped: number;
  /** Refused rows, by line; at most `rejectedLimit` from `rejectedAfter` on. */
  rejected: { line: number; reason: string }[];
  rejectedCount: number;
  /** Share of the file read, 0 to 1. */
  progress: number;
  bytes: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** A file may be this large (streamed, never held in memory). */
export const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;
/** The text is stored in chunks of about this many characters. */
const CHUNK_CHARS = 256 * 1024;
/** How many refused rows one answer lists. */
export const REJECTED_PAGE = 1000;

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

export function toImportView(row: ImportRow, rejected: ImportView["rejected"]): ImportView {
  const options = row.options as unknown as ImportOptions;
  return {
    id: row.id,
    status: row.status,
    format: row.format,
    topics: options.topics ?? [],
    processed: row.processed,
    imported: row.imported,
    skipped: row.skipped,
    rejected,
    rejectedCount: row.rejected,
    progress:
      row.status === "done" ? 1 : row.chars === 0 ? 0 : Math.min(1, row.position / row.chars),
    bytes: row.bytes,
    error: row.error,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    finishedAt: iso(row.finishedAt),
  };
}

export async function findImport(
  deps: Deps,
  tenantId: string,
  id: string,
): Promise<ImportRow | undefined> {
  return deps.db.query.imports.findFirst({
    where: and(eq(imports.id, id), eq(imports.tenantId, tenantId)),
  });
}

/**
 * The import `id` of the tenant; another tenant's is "not found", as if it
 * did not exist. `stalled` says that it is unfinished and nobody holds it
 * (its processor was cut off): the caller may take it up again.
 */
export async function getImport(
  deps: Deps,
  tenantId: string,
  id: string,
  page: { rejectedAfter?: number | undefined; rejectedLimit?: number | undefined } = {},
): Promise<{ view: ImportView; stalled: boolean }> {
  const row = await findImport(deps, tenantId, id);
  if (!row) throw new ProblemError("not-found", { detail: "No such import." });
  const stalled =
    (row.status === "queued" || row.status === "processing") &&
    (row.leaseUntil === null || row.leaseUntil < deps.clock());
  const rejected = await deps.db
    .select({ line: importRejections.line, reason: importRejections.reason })
    .from(importRejections)
    .where(
      and(eq(importRejections.importId, id), gt(importRejections.line, page.rejectedAfter ?? 0)),
    )
    .orderBy(asc(importRejections.line))
    .limit(Math.min(page.rejectedLimit ?? REJECTED_PAGE, REJECTED_PAGE));
  return { view: toImportView(row, rejected), stalled };
}

/** Checks what the request says about reading the file, before a byte of it is read. */
async function checkOptions(
  deps: Deps,
  tenantId: string,
  format: ImportFormat,
  options: ImportOptions,
) {
  const invalid = (pointer: string, detail: string) =>
    new ProblemError("invalid-request", {
      detail: "The import's parameters are not valid.",
      errors: [{ pointer, detail }],
    });
  if ((format === "mailchimp" || format === "listmonk") && options.topics.length === 0) {
    throw invalid("/query/topics", `required: the topics the ${format} list's consents are to`);
  }
  if (options.type !== undefined && format !== "csv" && format !== "ndjson") {
    throw invalid("/query/type", "only for format csv or ndjson");
  }
  if (format === "sendgrid" && options.list === undefined) {
    throw invalid("/query/list", "required: which SendGrid suppression list the file is");
  }
  if (options.list !== undefined && format !== "sendgrid") {
    throw invalid("/query/list", "only for format sendgrid");
  }
  if (options.subscription !== undefined && format !== "listmonk") {
    throw invalid("/query/subscription", "only for format listmonk");
  }
  if (options.map !== undefined) {
    if (format !== "csv") throw invalid("/query/map", "only for format csv");
    for (const field of Object.keys(options.map)) {
      if (!(field in CSV_COLUMNS))
        throw invalid("/query/map", "names a field that is not a column");
    }
  }
  await requireTopics(deps, tenantId, options.topics, { marketingOnly: true });
}

/**
 * Receives an import: the file is streamed, as it arrives, into stored
 * chunks of text (so its size costs no memory), and the job is left
 * `queued` for `processImport`. Bytes that are not UTF-8 become U+FFFD here,
 * and the rows holding them are refused later with their line.
 *
 * With an `Idempotency-Key`, a retry of a received upload answers the same
 * job without reading the body again.
 */
export async function receiveImport(
  deps: Deps,
  tenantId: string,
  request: { format: ImportFormat; options: ImportOptions },
  body: ReadableStream<Uint8Array> | null,
  settings: { idempotencyKey?: string | undefined; maxBytes?: number } = {},
): Promise<{ view: ImportView; replayed: boolean }> {
  await checkOptions(deps, tenantId, request.format, request.options);
  const key = settings.idempotencyKey;
  if (key !== undefined) {
    const held = await deps.db.query.imports.findFirst({
      where: and(eq(imports.tenantId, tenantId), eq(imports.idempotencyKey, key)),
    });
    if (held && held.status !== "failed") {
      return { view: toImportView(held, []), replayed: true };
    }
    // A failed upload may be retried with its key.
    if (held) {
      await deps.db.update(imports).set({ idempotencyKey: null }).where(eq(imports.id, held.id));
    }
  }
  if (!body) {
    throw new ProblemError("invalid-request", {
      detail: "The body is empty: send the file as the request body.",
    });
  }
  const now = deps.clock();
  const id = newId("imp", now);
  try {
    await deps.db.insert(imports).values({
      id,
      tenantId,
      format: request.format,
      options: request.options as unknown as Record<string, unknown>,
      status: "receiving",
      idempotencyKey: key ?? null,
      createdAt: now,
      updatedAt: now,
    });
  } catch (error) {
    // Two requests with one key at once: the other one's job is the answer.
    const held =
      key === undefined
        ? undefined
        : await deps.db.query.imports.findFirst({
            where: and(eq(imports.tenantId, tenantId), eq(imports.idempotencyKey, key)),
          });
    if (held) return { view: toImportView(held, []), replayed: true };
    throw error;
  }

  const maxBytes = settings.maxBytes ?? MAX_IMPORT_BYTES;
  const reader = body.getReader();
  // Not fatal: a few mis-encoded bytes refuse their rows, not the file.
  const decoder = new TextDecoder("utf-8");
  let pieces: string[] = [];
  let pending = 0;
  let seq = 0;
  let bytes = 0;
  let chars = 0;
  const store = async () => {
    if (pending === 0) return;
    const text = pieces.join("");
    pieces = [];
    pending = 0;
    seq++;
    await deps.db.batch([
      deps.db.insert(importChunks).values({ importId: id, seq: seq - 1, text }),
      deps.db
        .update(imports)
        .set({ chunks: seq, bytes, chars, updatedAt: deps.clock() })
        .where(eq(imports.id, id)),
    ]);
  };
  const take = (text: string) => {
    if (text.length === 0) return;
    pieces.push(text);
    pending += text.length;
    chars += text.length;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > maxBytes) {
        throw new ProblemError("payload-too-large", {
          detail: `An import may be at most ${Math.floor(maxBytes / 1024 / 1024)} MiB.`,
        });
      }
      take(decoder.decode(value, { stream: true }));
      if (pending >= CHUNK_CHARS) await store();
    }
    take(decoder.decode());
    await store();
  } catch (error) {
    await reader.cancel().catch(() => {});
    // Under a storage fault the discard may fail too; the job then stays
    // `receiving`, which nothing processes.
    await discard(deps, id, "the upload did not complete").catch(() => {});
    if (error instanceof ProblemError) throw error;
    // Storage that took no write is ours, not the client's: 503 + Retry-After.
    if (storageFaultOf(error)) throw error;
    throw new ProblemError("invalid-request", { detail: "The upload was interrupted." });
  }
  if (chars === 0) {
    await discard(deps, id, "the file is empty");
    throw new ProblemError("invalid-request", {
      detail: "The body is empty: send the file as the request body.",
    });
  }
  const [row] = await deps.db
    .update(imports)
    .set({ status: "queued", chunks: seq, bytes, chars, updatedAt: deps.clock() })
    .where(eq(imports.id, id))
    .returning();
  if (!row) throw new Error("import vanished while it was received");
  return { view: toImportView(row, []), replayed: false };
}

/** Marks an import failed and deletes its stored text (it holds addresses). */
export async function discard(deps: Deps, id: string, error: string): Promise<void> {
  const now = deps.clock();
  await deps.db.batch([
    deps.db.delete(importChunks).where(eq(importChunks.importId, id)),
    deps.db
      .update(imports)
      .set({ status: "failed", error, leaseUntil: null, updatedAt: now, finishedAt: now })
      .where(eq(imports.id, id)),
  ]);
}
