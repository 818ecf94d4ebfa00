import { Hono } from "hono";
import * as v from "valibot";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../../services/deps.js";
import { exportProofs } from "../../services/proofs/export-proofs.js";
import { verifyIntegrity } from "../../services/proofs/verify-integrity.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { Email } from "../schemas.js";
import { validate } from "../validate.js";

const IsoTime = v.pipe(
  v.string(),
  v.isoTimestamp("an ISO 8601 time with a time zone, e.g. 2026-11-23T12:00:00Z"),
);

const ProofQuery = v.object({
  from: v.optional(IsoTime),
  to: v.optional(IsoTime),
  email: v.optional(Email),
  messageId: v.optional(v.pipe(v.string(), v.maxLength(100))),
  topic: v.optional(v.pipe(v.string(), v.maxLength(100))),
  decision: v.optional(v.picklist(["send", "suppress"])),
  format: v.optional(v.picklist(["ndjson", "csv"]), "ndjson"),
  chain: v.optional(v.picklist(["justifications", "evidence"]), "justifications"),
});

/** Proof export and integrity (docs/design.md §5, §6), for compliance staff. */
export function proofRoutes(deps: Deps) {
  const scoped = requireScope(deps, "compliance:read");
  return new Hono<AppEnv>()
    .get(
      "/v1/proofs",
      documented({
        summary: "Export justifications",
        description:
          "Streams the tenant's justifications as NDJSON or CSV (RFC 4180), after a header record (tenant, chain start, head, filters), in constant memory. Each record carries every hashed field and its `hash`, so the file verifies offline (`npx grounds verify`, docs/proof-log.md). With `chain=evidence` it exports the tenant's evidence chain instead (every evidence event's hashed content and hash, nothing personal; no filters), which verifies the same way. CSV cells beginning with `=`, `+`, `-`, `@`, tab, CR or `'` are prefixed with `'` against formula injection. `email` matches by the keyed hash, so it still works after an erasure.",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      validate("query", ProofQuery),
      async (c) => {
        const { format, chain, ...filters } = c.req.valid("query");
        const filtered = Object.entries(filters).filter(([, value]) => value !== undefined);
        if (chain === "evidence" && filtered.length > 0) {
          // The evidence chain is exported whole: its file always verifies end to end.
          throw new ProblemError("invalid-request", {
            detail: "An export of the evidence chain takes no filters.",
            errors: filtered.map(([name]) => ({
              pointer: `/${name}`,
              detail: "not allowed with chain=evidence",
            })),
          });
        }
        const { stream } = await exportProofs(deps, c.var.principal.tenant.id, filters, format, {
          chain,
        });
        const day = new Date(deps.clock()).toISOString().slice(0, 10);
        return new Response(stream, {
          headers: {
            "content-type":
              format === "csv" ? "text/csv; charset=utf-8; header=present" : "application/x-ndjson",
            "content-disposition": `attachment; filename="${chain === "evidence" ? "evidence" : "proofs"}-${day}.${format}"`,
            "cache-control": "no-store",
          },
        });
      },
    )
    .get(
      "/v1/integrity",
      documented({
        summary: "Verify the tenant's proof chains",
        description:
          "Recomputes every chain of the tenant — `justifications`, then `evidence` (every evidence event) — from its start (the genesis or the retention checkpoint) and compares its end with the stored head: `{ok, chains:[{name, rows, start, head, ok, break?:{seq, problem}}]}`, where `problem` is `hash-mismatch` (a changed row), `gap` (a removed or moved row), `broken-link` (a reordered or inserted row) or `truncated`. On the justifications chain, `evidence` says whether every evidence event the justifications cite still hashes to what they cited (`altered`: changed or missing). On the evidence chain, `unchained` counts events outside the chain (not tamper-evident) and `adopted` says when events stored before the chain existed were chained (null if none). `ok` is false if any check fails.",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      async (c) => c.json(await verifyIntegrity(deps, c.var.principal.tenant.id)),
    );
}
