import { createWriteStream } from "node:fs";
import { Writable } from "node:stream";
import { type Command, EXIT, parseOptions, RefusedError, UsageError } from "../command.js";
import { progressBar } from "../progress.js";

const options = {
  tenant: { type: "string" },
  out: { type: "string", short: "o" },
  format: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  email: { type: "string" },
  "message-id": { type: "string" },
  topic: { type: "string" },
  decision: { type: "string" },
  chain: { type: "string" },
} as const;

export const exportProofsCommand: Command = {
  name: "export",
  summary:
    "Export a tenant's proofs (justifications, or its evidence chain) to an NDJSON or CSV file",
  help: `Usage: grounds export --tenant TENANT_ID --out FILE [--format ndjson|csv]
                      [--from TIME] [--to TIME] [--email ADDRESS]
                      [--message-id ID] [--topic TOPIC] [--decision send|suppress]
       grounds export --tenant TENANT_ID --out FILE --chain evidence [--format ndjson|csv]

Writes the tenant's justifications to FILE, as GET /v1/proofs streams them,
with a progress bar. Without filters the file is the whole chain and
\`grounds verify FILE\` checks it end to end (docs/proof-log.md).

Options:
  --tenant TENANT_ID   the tenant (ten_…)
  --out FILE, -o FILE  where to write
  --format FORMAT      ndjson (default) or csv (RFC 4180, formula-safe)
  --from, --to TIME    decisions in this range (ISO 8601)
  --email ADDRESS      one subject's decisions (by keyed hash; works after erasure)
  --message-id ID      one message's decisions
  --topic TOPIC        one topic's decisions
  --decision D         send or suppress
  --chain CHAIN        justifications (default) or evidence: the tenant's
                       evidence chain, whole (no filters), nothing personal

Example:
  grounds export --tenant ten_… --format csv --out proofs.csv`,

  async run(args, context) {
    const values = parseOptions(args, options);
    if (values.tenant === undefined) throw new UsageError("missing --tenant");
    if (values.out === undefined) throw new UsageError("missing --out");
    const format = values.format ?? "ndjson";
    const chain = values.chain ?? "justifications";
    if (chain !== "justifications" && chain !== "evidence") {
      throw new UsageError("--chain: justifications or evidence");
    }
    if (
      chain === "evidence" &&
      ["from", "to", "email", "message-id", "topic", "decision"].some(
        (name) => values[name as keyof typeof values] !== undefined,
      )
    ) {
      throw new UsageError("--chain evidence takes no filters");
    }
    if (format !== "ndjson" && format !== "csv") throw new UsageError("--format: ndjson or csv");
    if (values.decision !== undefined && !["send", "suppress"].includes(values.decision)) {
      throw new UsageError("--decision: send or suppress");
    }
    for (const name of ["from", "to"] as const) {
      const time = values[name];
      if (time !== undefined && Number.isNaN(Date.parse(time))) {
        throw new UsageError(`--${name}: an ISO 8601 time`);
      }
    }
    const { exportProofs } = await import("../../services/proofs/export-proofs.js");
    const { loadTenant } = await import("../../services/tenant.js");
    const { deps } = await context.gateway();
    const tenant = await loadTenant(deps, values.tenant);
    const progress = progressBar(context.io);
    let exported = 0;
    const { header, stream } = await exportProofs(
      deps,
      tenant.id,
      {
        from: values.from,
        to: values.to,
        email: values.email,
        messageId: values["message-id"],
        topic: values.topic,
        decision: values.decision as "send" | "suppress" | undefined,
      },
      format,
      {
        chain,
        onRows: (rows, share) => {
          exported = rows;
          progress.update(share, `${rows.toLocaleString("en")} rows`);
        },
      },
    );
    try {
      await stream.pipeTo(Writable.toWeb(createWriteStream(values.out)));
    } catch {
      throw new RefusedError("The file cannot be written.");
    }
    progress.done();
    context.io.out(
      `Exported ${exported.toLocaleString("en")} ${chain === "evidence" ? "evidence events" : "justifications"} of ${tenant.id} (chain head ${header.head.seq}) to ${values.out}${header.complete ? "" : " (filtered)"}.`,
    );
    return EXIT.ok;
  },
};
