// The browser build: csv-parse's default build needs Node's streams and
// Buffer, which the Worker does not have; this one carries its own.
import { Parser } from "csv-parse/browser/esm";

/**
 * Reading an import file into records, a chunk of text at a time, so a file
 * of any size is read in constant memory. Each record carries the line it
 * starts on, for the report of refused rows.
 */

/** One record of the file, or why it could not be read. */
export type FileRecord =
  | { line: number; fields: string[]; value?: never; error?: never }
  | { line: number; value: unknown; fields?: never; error?: never }
  | { line: number; error: string; fields?: never; value?: never };

/** A batch of records and how far into the file (in characters) they reach. */
export interface RecordBatch {
  records: FileRecord[];
  position: number;
}

/**
 * Line breaks made `\n`, across chunk boundaries: a file that mixes `\r\n`,
 * `\n` and old `\r` (files concatenated from several tools do) is still read
 * line by line, and line numbers count as an editor counts them.
 */
async function* normalisedText(
  texts: AsyncIterable<string>,
): AsyncGenerator<{ text: string; position: number }> {
  let position = 0;
  let carriageReturn = false;
  for await (const chunk of texts) {
    position += chunk.length;
    let text: string = carriageReturn ? `\r${chunk}` : chunk;
    carriageReturn = text.endsWith("\r");
    if (carriageReturn) text = text.slice(0, -1);
    yield { text: text.replace(/\r\n?/g, "\n"), position };
  }
  if (carriageReturn) yield { text: "\n", position };
}

function countNewlines(text: string, from = 0, to = text.length): number {
  let count = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) {
    count++;
  }
  return count;
}

/** Leading line breaks: the empty lines skipped before a record. */
function leadingNewlines(text: string): number {
  let i = 0;
  while (text[i] === "\n") i++;
  return i;
}

/** Which character separates fields: the one the header line uses most. */
export function detectDelimiter(firstLine: string): string {
  let best = ",";
  let bestCount = 0;
  for (const candidate of [",", ";", "\t"]) {
    let count = 0;
    let quoted = false;
    for (const char of firstLine) {
      if (char === '"') quoted = !quoted;
      else if (char === candidate && !quoted) count++;
    }
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}

/**
 * CSV records (RFC 4180: quoted fields may hold commas, quotes and line
 * breaks), parsed by csv-parse. The header is the first record. A UTF-8 BOM
 * is dropped; empty lines are skipped but counted.
 */
export async function* csvRecords(texts: AsyncIterable<string>): AsyncGenerator<RecordBatch> {
  let parser: Parser | undefined;
  let line = 1;
  let pending: FileRecord[] = [];
  const startLine = (raw: string) => {
    const start = line + leadingNewlines(raw);
    line += countNewlines(raw);
    return start;
  };
  const open = (delimiter: string) =>
    new Parser({
      delimiter,
      bom: true,
      record_delimiter: "\n",
      raw: true,
      relax_column_count: true,
      // A stray quote inside a field is kept as a character rather than
      // derailing every record after it.
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // With `raw`, a record arrives with the text it was read from, whose
      // line breaks give its line number; it is kept here, not passed on.
      on_record: (record, context) => {
        const { record: fields } = record as unknown as { record: string[] };
        pending.push({ line: startLine(context.raw ?? ""), fields });
        return null;
      },
      on_skip: (error, raw) => {
        const at = startLine(raw ?? "");
        pending.push({
          line: at,
          error:
            error?.code === "CSV_QUOTE_NOT_CLOSED"
              ? "a quoted field is never closed: this row and everything after it could not be read"
              : "not a well-formed CSV row",
        });
        return undefined;
      },
    });
  let position = 0;
  for await (const chunk of normalisedText(texts)) {
    position = chunk.position;
    if (!parser) {
      const newline = chunk.text.indexOf("\n");
      parser = open(detectDelimiter(chunk.text.slice(0, newline === -1 ? 4096 : newline)));
    }
    parser.write(chunk.text);
    const records = pending;
    pending = [];
    yield { records, position };
  }
  if (parser) {
    // csv-parse flushes its last record synchronously on end().
    parser.end();
    yield { records: pending, position };
  }
}

/**
 * NDJSON records: one JSON value a line. Empty lines are skipped; a line that
 * is not JSON is reported, and the lines after it are read on.
 */
export async function* ndjsonRecords(texts: AsyncIterable<string>): AsyncGenerator<RecordBatch> {
  let line = 0;
  let rest = "";
  let first = true;
  let position = 0;
  const parse = (text: string, records: FileRecord[]) => {
    line++;
    const trimmed = text.trim();
    if (trimmed === "") return;
    try {
      records.push({ line, value: JSON.parse(trimmed) });
    } catch {
      records.push({ line, error: "not valid JSON" });
    }
  };
  for await (const chunk of normalisedText(texts)) {
    position = chunk.position;
    let text = rest + chunk.text;
    if (first && text.length > 0) {
      if (text.startsWith("\uFEFF")) text = text.slice(1);
      first = false;
    }
    const records: FileRecord[] = [];
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      parse(text.slice(start, end), records);
      start = end + 1;
    }
    rest = text.slice(start);
    yield { records, position: chunk.position };
  }
  if (rest.length > 0) {
    const records: FileRecord[] = [];
    parse(rest, records);
    yield { records, position };
  }
}
