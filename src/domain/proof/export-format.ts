import { GENESIS, linkHash } from "./chain.js";

/**
 * The proof export (docs/proof-log.md, "Verifying an export"): the same
 * records as NDJSON or CSV, each with every field of the hashed content plus
 * its `hash`, after a header record naming the tenant, where the chain starts
 * (genesis or a retention checkpoint), its head when the export began, and
 * whether the export is complete or filtered. Pure: no runtime, no I/O, so
 * the HTTP app, the CLI and an auditor's own tools can share it.
 */

/** The hashed content of a justification, as docs/proof-log.md lists it. */
export const CONTENT_FIELDS = [
  "v",
  "tenant",
  "seq",
  "prev",
  "id",
  "message",
  "subject",
  "topic",
  "decision",
  "basis",
  "reasons",
  "ruleSet",
  "evidence",
  "trace",
  "decidedAt",
  "supersedes",
] as const;

/** Exported beside the content, outside the hash (they may change). */
export const EXTRA_FIELDS = ["email", "status", "statusAt", "providerMessageId", "error"] as const;

/**
 * The hashed content of an evidence event (docs/proof-log.md, "The evidence
 * chain"). An evidence export holds nothing else: the personal part of an
 * event is outside the hash and stays out of the file.
 */
export const EVIDENCE_CONTENT_FIELDS = [
  "v",
  "chain",
  "tenant",
  "seq",
  "prev",
  "id",
  "kind",
  "topic",
  "subject",
  "occurredAt",
  "recordedAt",
  "data",
] as const;

export type ContentField = (typeof CONTENT_FIELDS)[number];
export type ExtraField = (typeof EXTRA_FIELDS)[number];
export type EvidenceContentField = (typeof EVIDENCE_CONTENT_FIELDS)[number];
export type ExportChain = "justifications" | "evidence";

/** One exported justification: its content, its hash, and the unhashed extras. */
export type ExportRecord = Record<ContentField | ExtraField, unknown> & { hash: string };

/** One exported evidence event: its hashed content and its hash. */
export type EvidenceExportRecord = Record<EvidenceContentField, unknown> & { hash: string };

/** A record of either chain's export, as read from a file (untrusted: checked field by field). */
export type AnyExportRecord = Record<string, unknown> & { hash: string };

/** The first record of an export. */
export interface ExportHeader {
  export: "grounds-proofs";
  v: 1;
  tenant: string;
  /** Which of the tenant's chains the file holds (docs/proof-log.md). */
  chain: ExportChain;
  /** True when no filter was given: the file must then be the whole chain from `start` to `head`. */
  complete: boolean;
  /** Where the chain starts: seq 0 and 64 zeros, or a retention checkpoint. */
  start: { seq: number; hash: string };
  /** The chain's head when the export began; no later row is exported. */
  head: { seq: number; hash: string };
  filters: Record<string, string>;
  exportedAt: string;
}

/** CSV columns: the record kind, the header's JSON (first data row only), then the fields. */
export const CSV_COLUMNS = [
  "record",
  "header",
  ...CONTENT_FIELDS,
  "hash",
  ...EXTRA_FIELDS,
] as const;

/** CSV columns of an evidence export. */
export const EVIDENCE_CSV_COLUMNS = [
  "record",
  "header",
  ...EVIDENCE_CONTENT_FIELDS,
  "hash",
] as const;

function csvColumnsOf(chain: ExportChain): readonly string[] {
  return chain === "evidence" ? EVIDENCE_CSV_COLUMNS : CSV_COLUMNS;
}

/** The `record` cell of a chain's rows. */
function recordKindOf(chain: ExportChain): string {
  return chain === "evidence" ? "evidence" : "justification";
}

const JSON_COLUMNS = new Set<string>(["reasons", "evidence", "trace", "data"]);
const INTEGER_COLUMNS = new Set<string>(["v", "seq", "occurredAt", "recordedAt"]);

/**
 * Spreadsheet formula injection (CWE-1236): a cell that begins with `=`, `+`,
 * `-`, `@`, tab or CR is prefixed with `'`. A cell that begins with `'` is
 * prefixed too, so the neutralisation is reversible without ambiguity: the
 * verifier removes exactly one leading `'` from every cell that has one.
 */
export function neutralise(cell: string): string {
  switch (cell.charCodeAt(0)) {
    case 61: // =
    case 43: // +
    case 45: // -
    case 64: // @
    case 9: // tab
    case 13: // CR
    case 39: // '
      return `'${cell}`;
    default:
      return cell;
  }
}

export function unneutralise(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double inner quotes. */
const NEEDS_QUOTES = /[",\r\n]/;
const QUOTES = /"/g;

function quote(cell: string): string {
  return NEEDS_QUOTES.test(cell) ? `"${cell.replace(QUOTES, '""')}"` : cell;
}

function csvLine(cells: readonly string[]): string {
  return `${cells.map((cell) => quote(neutralise(cell))).join(",")}\r\n`;
}

export function csvHeaderLines(header: ExportHeader): string {
  const columns = csvColumnsOf(header.chain);
  const meta = columns.map((column) =>
    column === "record" ? "header" : column === "header" ? JSON.stringify(header) : "",
  );
  return csvLine(columns) + csvLine(meta);
}

/** A cell: null is empty (no exported nullable field is ever the empty string). */
function cellOf(column: string, value: unknown): string {
  if (value === null || value === undefined) return "";
  if (JSON_COLUMNS.has(column)) return JSON.stringify(value);
  return String(value);
}

export function csvRecordLine(
  record: AnyExportRecord,
  chain: ExportChain = "justifications",
): string {
  const cells: Record<string, unknown> = record;
  return csvLine(
    csvColumnsOf(chain).map((column) =>
      column === "record"
        ? recordKindOf(chain)
        : column === "header"
          ? ""
          : cellOf(column, cells[column]),
    ),
  );
}

export function ndjsonHeaderLine(header: ExportHeader): string {
  return `${JSON.stringify(header)}\n`;
}

export function ndjsonRecordLine(record: AnyExportRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/**
 * Reads RFC 4180 CSV incrementally: feed text, get complete records. Quoted
 * fields may hold commas, quotes and line breaks; a CR outside quotes only
 * ever ends a line (the export quotes every cell holding one).
 */
export class CsvReader {
  #field = "";
  #record: string[] = [];
  #quoted = false;
  #quotePending = false;
  #started = false;

  /** Feeds text; returns the records it completed. `end` flushes the last one. */
  push(text: string, end = false): string[][] {
    const records: string[][] = [];
    for (const ch of text) {
      if (this.#quoted) {
        if (this.#quotePending) {
          this.#quotePending = false;
          if (ch === '"') {
            this.#field += '"';
            continue;
          }
          this.#quoted = false;
        } else {
          if (ch === '"') this.#quotePending = true;
          else this.#field += ch;
          continue;
        }
      }
      if (ch === '"' && !this.#started) {
        this.#quoted = true;
        this.#started = true;
      } else if (ch === ",") {
        this.#record.push(this.#field);
        this.#field = "";
        this.#started = false;
      } else if (ch === "\n") {
        this.#record.push(this.#field);
        records.push(this.#record);
        this.#record = [];
        this.#field = "";
        this.#started = false;
      } else if (ch !== "\r") {
        this.#field += ch;
        this.#started = true;
      }
    }
    if (end) {
      if (this.#quoted && !this.#quotePending) throw new Error("unterminated quoted field");
      this.#quoted = false;
      this.#quotePending = false;
      if (this.#started || this.#record.length > 0) {
        this.#record.push(this.#field);
        records.push(this.#record);
      }
      this.#record = [];
      this.#field = "";
      this.#started = false;
    }
    return records;
  }
}

/** Turns a CSV record (cells as written) back into an export header or record. */
export function fromCsv(
  columns: readonly string[],
  cells: readonly string[],
): { header: ExportHeader } | { record: AnyExportRecord } {
  const values = new Map<string, string>();
  columns.forEach((column, index) => {
    values.set(column, unneutralise(cells[index] ?? ""));
  });
  if (values.get("record") === "header") {
    return { header: JSON.parse(values.get("header") ?? "null") as ExportHeader };
  }
  const fields =
    values.get("record") === "evidence"
      ? [...EVIDENCE_CONTENT_FIELDS, "hash"]
      : [...CONTENT_FIELDS, "hash", ...EXTRA_FIELDS];
  const record: Record<string, unknown> = {};
  for (const column of fields) {
    const cell = values.get(column) ?? "";
    record[column] =
      cell === ""
        ? null
        : JSON_COLUMNS.has(column)
          ? JSON.parse(cell)
          : INTEGER_COLUMNS.has(column)
            ? Number(cell)
            : cell;
  }
  return { record: record as AnyExportRecord };
}

export type ExportProblem =
  | "no-header"
  | "wrong-tenant"
  | "hash-mismatch"
  | "broken-link"
  | "gap"
  | "order"
  | "beyond-head"
  | "truncated"
  | "unreadable";

export interface ExportVerdict {
  ok: boolean;
  rows: number;
  complete: boolean;
  head: { seq: number; hash: string } | null;
  break?: { seq: number | null; line?: number; problem: ExportProblem };
}

/** The hash a record's content gives (docs/proof-log.md), by the chain it is of. */
export function recordHash(record: AnyExportRecord, chain: ExportChain = "justifications"): string {
  const fields = chain === "evidence" ? EVIDENCE_CONTENT_FIELDS : CONTENT_FIELDS;
  const cells: Record<string, unknown> = record;
  const content: Record<string, unknown> = {};
  for (const field of fields) content[field] = cells[field];
  return linkHash(content as { seq: number; prev: string } & Record<string, unknown>);
}

/**
 * Verifies an export record by record, in constant memory (docs/proof-log.md):
 * every record's hash is recomputed; seqs must increase; where two records
 * are consecutive (`seq` and `seq + 1`) the second's `prev` must be the
 * first's `hash`. A complete export must in addition start at `start`, have
 * no gap, and end at `head` (truncation).
 */
export class ExportVerifier {
  #header: ExportHeader | null = null;
  #last: { seq: number; hash: string } | null = null;
  #rows = 0;
  #break: ExportVerdict["break"] | undefined;

  get failed(): boolean {
    return this.#break !== undefined;
  }

  header(header: ExportHeader): void {
    if (
      this.#header ||
      header?.export !== "grounds-proofs" ||
      (header.chain !== "justifications" && header.chain !== "evidence")
    ) {
      this.#fail(null, "no-header");
      return;
    }
    this.#header = header;
    this.#last = header.complete ? { ...header.start } : null;
  }

  record(record: AnyExportRecord, line?: number): void {
    if (this.#break) return;
    const seq = typeof record.seq === "number" ? record.seq : Number.NaN;
    const problem = this.#problemOf(record, seq);
    if (problem) {
      this.#fail(seq, problem, line);
      return;
    }
    this.#last = { seq, hash: record.hash };
    this.#rows += 1;
  }

  #problemOf(record: AnyExportRecord, seq: number): ExportProblem | null {
    const header = this.#header;
    if (!header) return "no-header";
    if (record.tenant !== header.tenant) return "wrong-tenant";
    // The header names the chain, so the content it hashes: an evidence
    // record passed off in a justifications file fails here, and vice versa.
    if (recordHash(record, header.chain) !== record.hash) return "hash-mismatch";
    if (!(seq <= header.head.seq)) return "beyond-head";
    const last = this.#last;
    if (!last) return null;
    if (seq <= last.seq) return "order";
    if (header.complete && seq !== last.seq + 1) return "gap";
    if (seq === last.seq + 1 && record.prev !== last.hash) return "broken-link";
    return null;
  }

  #fail(seq: number | null, problem: ExportProblem, line?: number): void {
    this.#break ??= { seq, problem, ...(line !== undefined ? { line } : {}) };
  }

  unreadable(line: number): void {
    this.#fail(null, "unreadable", line);
  }

  finish(): ExportVerdict {
    const header = this.#header;
    if (!header) this.#fail(null, "no-header");
    else if (header.complete && !this.#break) {
      const last = this.#last ?? header.start;
      if (last.seq !== header.head.seq || last.hash !== header.head.hash) {
        this.#fail(last.seq + 1, "truncated");
      }
    }
    return {
      ok: this.#break === undefined,
      rows: this.#rows,
      complete: header?.complete ?? false,
      head: header?.head ?? null,
      ...(this.#break ? { break: this.#break } : {}),
    };
  }
}

export { GENESIS };
