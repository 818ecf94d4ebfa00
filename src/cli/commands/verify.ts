import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import {
  CsvReader,
  type ExportHeader,
  type ExportRecord,
  ExportVerifier,
  fromCsv,
} from "../../domain/proof/export-format.js";
import { type Command, EXIT, RefusedError, UsageError } from "../command.js";
import { printJson } from "../output.js";

/**
 * Verifies an exported proof file offline: no database, no secret, only the
 * algorithm of docs/proof-log.md. The format is told by the first character
 * (`{` NDJSON, otherwise CSV). Constant memory: the file is read as a stream.
 */
export const verifyExport: Command = {
  name: "verify",
  summary: "Verify an exported proof file offline (NDJSON or CSV)",
  help: `Usage: grounds verify FILE [--json]

Recomputes every record's hash of an export (grounds export, GET /v1/proofs)
and checks the chain's links, order and, for an unfiltered export, that no
record is missing and the file ends at the chain head it names. Needs no
database: the algorithm is docs/proof-log.md.

Exit codes: 0 the file verifies, 1 it does not (the first break is named),
2 usage error.`,

  async run(args, context) {
    const json = args.includes("--json");
    const files = args.filter((arg) => arg !== "--json");
    const unknown = files.find((arg) => arg.startsWith("-"));
    if (unknown) throw new UsageError(`unknown option ${unknown}`);
    const [file, ...more] = files;
    if (file === undefined) throw new UsageError("missing FILE");
    if (more.length > 0) throw new UsageError("one file at a time");
    try {
      await stat(file);
    } catch {
      throw new RefusedError("The file cannot be read.");
    }
    const verifier = new ExportVerifier();
    let format: "ndjson" | "csv" | undefined;
    let lineNo = 0;
    let columns: string[] | undefined;
    const csv = new CsvReader();
    // CSV: a record per CSV record (quoted fields may span lines); `lineNo` counts records.
    const takeCsv = (cells: string[]) => {
      lineNo += 1;
      if (!columns) {
        columns = cells;
        return;
      }
      try {
        const parsed = fromCsv(columns, cells);
        if ("header" in parsed) verifier.header(parsed.header);
        else verifier.record(parsed.record, lineNo);
      } catch {
        verifier.unreadable(lineNo);
      }
    };
    const takeLine = (line: string) => {
      lineNo += 1;
      if (line.trim() === "") return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        verifier.unreadable(lineNo);
        return;
      }
      if (lineNo === 1) verifier.header(value as ExportHeader);
      else verifier.record(value as ExportRecord, lineNo);
    };
    let pending = "";
    for await (const chunk of createReadStream(file, { encoding: "utf8" })) {
      const text = String(chunk);
      format ??= text.startsWith("{") ? "ndjson" : "csv";
      if (format === "csv") {
        for (const cells of csv.push(text)) takeCsv(cells);
      } else {
        pending += text;
        const parts = pending.split("\n");
        pending = parts.pop() ?? "";
        for (const line of parts) takeLine(line);
      }
      if (verifier.failed) break;
    }
    if (!verifier.failed) {
      if (format === "csv") {
        try {
          for (const cells of csv.push("", true)) takeCsv(cells);
        } catch {
          verifier.unreadable(lineNo + 1);
        }
      } else if (pending) takeLine(pending);
    }
    const verdict = verifier.finish();
    if (json) {
      printJson(context.io, verdict);
    } else if (verdict.ok) {
      context.io.out(
        `OK: ${verdict.rows} records verify${verdict.complete ? `; the file is the whole chain up to its head, seq ${verdict.head?.seq} (${verdict.head?.hash})` : " (a filtered export: each record's hash, and the links between consecutive records)"}.`,
      );
    } else {
      const where = verdict.break?.seq != null ? ` at seq ${verdict.break.seq}` : "";
      const line = verdict.break?.line !== undefined ? ` (line ${verdict.break.line})` : "";
      context.io.err(`NOT VERIFIED: ${verdict.break?.problem}${where}${line}.`);
    }
    return verdict.ok ? EXIT.ok : EXIT.failed;
  },
};
