import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { ImportParameters } from "../../services/imports/row-schemas.js";
import { type Command, EXIT, parseOptions, RefusedError, UsageError } from "../command.js";
import { validateInput } from "../input.js";
import { printJson } from "../output.js";
import { progressBar } from "../progress.js";

const options = {
  tenant: { type: "string" },
  format: { type: "string" },
  topics: { type: "string" },
  type: { type: "string" },
  map: { type: "string", multiple: true },
  subscription: { type: "string" },
  list: { type: "string" },
  json: { type: "boolean" },
} as const;

/** How many refused rows the summary lists; `--json` has them all (up to 1,000). */
const LISTED = 20;

/**
 * The one positional argument, the file. parseOptions refuses positionals
 * (a value with a space left unquoted would be one), so the file is taken
 * out first and the rest parsed as every command parses its options.
 */
function splitFile(args: string[]): { file: string | undefined; rest: string[] } {
  let tokens: { kind: string; index: number }[] = [];
  try {
    ({ tokens } = parseArgs({
      args,
      options,
      strict: false,
      allowPositionals: true,
      tokens: true,
    }));
  } catch {
    return { file: undefined, rest: args };
  }
  const positionals = tokens.filter((token) => token.kind === "positional");
  const [first] = positionals;
  if (!first) return { file: undefined, rest: args };
  if (positionals.length > 1) {
    throw new UsageError("one file at a time; quote a file name that contains spaces");
  }
  return { file: args[first.index], rest: args.filter((_, i) => i !== first.index) };
}

/** What an import has done so far, for the progress bar. */
function importCounts(processed: number, rejected: number): string {
  return `${processed.toLocaleString("en")} rows${rejected > 0 ? `, ${rejected.toLocaleString("en")} refused` : ""}`;
}

export const importFile: Command = {
  name: "import",
  summary: "Import a file of evidence: a Mailchimp or listmonk export, CSV or NDJSON",
  help: `Usage: grounds import FILE --tenant TENANT_ID --format FORMAT
                      [--topics TOPIC,…] [--type TYPE] [--map FIELD:COLUMN …]
                      [--subscription confirmed|unsubscribed] [--json]

Imports evidence from a file, as POST /v1/imports does, showing its progress:
consents, customers, objections and suppressions, each recorded with method
"import" and its original time (IPs anonymised). Refused rows are listed by
line with the reason; the good rows are all imported. Importing the same file
again adds nothing.

Options:
  --tenant TENANT_ID      the tenant (ten_…)
  --format FORMAT         mailchimp   a Mailchimp audience export (subscribed,
                                      unsubscribed or cleaned members)
                          listmonk    a listmonk subscriber export
                          csv         the documented columns (see the README)
                          ndjson      one evidence write of the API a line,
                                      with "type"
  --topics TOPIC,…        the marketing topics the file's consents are to
                          (needed for mailchimp and listmonk)
  --type TYPE             csv, ndjson: the type of rows that name none:
                          consent (default), customer, objection, suppression
  --map FIELD:COLUMN      csv: read FIELD from COLUMN (repeat for more)
  --list LIST             sendgrid: the suppression list the file is (global-unsubscribes,
                          group-unsubscribes, bounces, blocks, spam-reports, invalid-emails)
  --subscription STATUS   listmonk: the subscription status the export was
                          filtered by: confirmed (default) or unsubscribed
  --json                  print the job as GET /v1/imports/{id} answers it

Exit codes: 0 every row imported (or already held), 1 rows refused or the
file could not be read, 2 usage error.

Example:
  grounds import subscribed_members_export.csv --tenant ten_… \\
    --format mailchimp --topics newsletter`,

  async run(args, context) {
    const { file, rest } = splitFile(args);
    const values = parseOptions(rest, options);
    if (file === undefined) throw new UsageError("missing FILE");
    if (values.tenant === undefined) throw new UsageError("missing --tenant");
    const parameters = validateInput(
      ImportParameters,
      {
        format: values.format,
        topics: values.topics,
        type: values.type,
        map: values.map,
        subscription: values.subscription,
        list: values.list,
      },
      {},
    );
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      throw new RefusedError("The file cannot be read.");
    }
    // Loaded only now: help and refused input need none of the database code.
    const { receiveImport, getImport } = await import("../../services/imports/jobs.js");
    const { processImport } = await import("../../services/imports/process.js");
    const { loadTenant } = await import("../../services/tenant.js");
    const { deps } = await context.gateway();
    const tenant = await loadTenant(deps, values.tenant);
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    const { view: received } = await receiveImport(
      deps,
      tenant.id,
      {
        format: parameters.format,
        options: {
          topics: [...new Set(parameters.topics)],
          ...(parameters.type ? { type: parameters.type } : {}),
          ...(parameters.map ? { map: parameters.map } : {}),
          ...(parameters.subscription ? { subscription: parameters.subscription } : {}),
          ...(parameters.list ? { list: parameters.list } : {}),
        },
      },
      body,
    );
    const progress = progressBar(context.io);
    if (!values.json) {
      context.io.err(
        `Importing ${basename(file)} (${(size / 1024 / 1024).toFixed(1)} MiB) as ${received.id}…`,
      );
    }
    progress.update(0, importCounts(0, 0));
    await processImport(deps, received.id, {
      onProgress: (p) => progress.update(p.progress, importCounts(p.processed, p.rejected)),
    });
    const { view } = await getImport(deps, tenant.id, received.id);
    if (view.status === "done")
      progress.update(1, importCounts(view.processed, view.rejectedCount));
    progress.done();
    const clean = view.status === "done" && view.rejectedCount === 0;
    if (values.json) {
      printJson(context.io, view);
      return clean ? EXIT.ok : EXIT.failed;
    }
    if (view.status !== "done") {
      throw new RefusedError(`The import ${view.id} failed: ${view.error ?? "unknown error"}.`);
    }
    const lines = [
      `Import ${view.id} done: ${view.processed} rows read, ${view.imported} imported, ${view.skipped} already held, ${view.rejectedCount} refused.`,
    ];
    if (view.rejectedCount > 0) {
      lines.push("Refused rows (line: reason):");
      for (const { line, reason } of view.rejected.slice(0, LISTED)) {
        lines.push(`  ${line}: ${reason}`);
      }
      if (view.rejectedCount > LISTED) {
        lines.push(
          `  … and ${view.rejectedCount - LISTED} more (--json, or GET /v1/imports/${view.id})`,
        );
      }
    }
    context.io.out(lines.join("\n"));
    return clean ? EXIT.ok : EXIT.failed;
  },
};
