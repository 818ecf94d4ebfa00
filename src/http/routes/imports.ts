import { Hono } from "hono";
import * as v from "valibot";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../../services/deps.js";
import { IMPORT_FORMATS, type ImportOptions } from "../../services/imports/formats.js";
import { getImport, MAX_IMPORT_BYTES, receiveImport } from "../../services/imports/jobs.js";
import { processImport } from "../../services/imports/process.js";
import { ImportParameters } from "../../services/imports/row-schemas.js";
import { requireScope } from "../auth.js";
import { inBackground } from "../background.js";
import type { AppEnv } from "../env.js";
import { documented, documentsIdempotencyKey } from "../openapi.js";
import { validate } from "../validate.js";

const ImportPageQuery = v.object({
  rejectedAfter: v.optional(v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(0))),
});

const ImportAccepted = v.object({ id: v.string(), status: v.string() });

const ImportSchema = v.object({
  id: v.string(),
  status: v.picklist(["receiving", "queued", "processing", "done", "failed"]),
  format: v.picklist(IMPORT_FORMATS),
  topics: v.array(v.string()),
  processed: v.number(),
  imported: v.number(),
  skipped: v.number(),
  rejected: v.array(v.object({ line: v.number(), reason: v.string() })),
  rejectedCount: v.number(),
  progress: v.number(),
  bytes: v.number(),
  error: v.nullable(v.string()),
  createdAt: v.string(),
  updatedAt: v.string(),
  finishedAt: v.nullable(v.string()),
});

/** Bulk import of evidence (docs/design.md §5): the file is the body. */
export function importRoutes(deps: Deps) {
  const scoped = requireScope(deps, "evidence:write");
  return new Hono<AppEnv>()
    .post(
      "/v1/imports",
      documented({
        summary: "Import a file of evidence",
        description: [
          "The file is the body, streamed (up to 1 GiB): `format=mailchimp` (an audience export: subscribed, unsubscribed or cleaned members), `listmonk` (a subscriber export), `csv` (the documented columns) or `ndjson` (one evidence write per line, with `type`).",
          "`topics` (comma-separated) are the topics the file's consents are to, where a row names none. `type` is the row type where a row has none (csv, ndjson); `map=field:Column` maps a CSV column onto a field (repeatable); `subscription=confirmed|unsubscribed` says which listmonk export it is; `format=sendgrid&list=global-unsubscribes|group-unsubscribes|bounces|blocks|spam-reports|invalid-emails` reads one of SendGrid's suppression exports (docs/imports.md).",
          "Answers `202 {id}` once the file is stored; `GET /v1/imports/{id}` follows the job. Every event is recorded with method `import` and its original time; importing a file again adds nothing.",
        ].join("\n\n"),
        tag: "Evidence",
        auth: "evidence:write",
        status: 202,
        response: ImportAccepted,
      }),
      documentsIdempotencyKey(),
      scoped,
      validate("query", ImportParameters),
      async (c) => {
        const query = c.req.valid("query");
        const length = Number(c.req.header("content-length"));
        if (length > MAX_IMPORT_BYTES) {
          throw new ProblemError("payload-too-large", {
            detail: "An import may be at most 1 GiB.",
          });
        }
        const options: ImportOptions = {
          topics: [...new Set(query.topics)],
          ...(query.type ? { type: query.type } : {}),
          ...(query.map ? { map: query.map } : {}),
          ...(query.subscription ? { subscription: query.subscription } : {}),
          ...(query.list ? { list: query.list } : {}),
        };
        const { view, replayed } = await receiveImport(
          deps,
          c.var.principal.tenant.id,
          { format: query.format, options },
          c.req.raw.body,
          { idempotencyKey: c.req.header("idempotency-key") },
        );
        if (view.status === "queued") inBackground(c, deps, processImport(deps, view.id), "import");
        return c.json({ id: view.id, status: view.status }, 202, {
          location: `/v1/imports/${view.id}`,
          ...(replayed ? { "idempotent-replayed": "true" } : {}),
        });
      },
    )
    .get(
      "/v1/imports/:id",
      documented({
        summary: "Follow an import",
        description:
          "`{status, processed, imported, skipped, rejected:[{line, reason}], rejectedCount, progress}`. `rejected` lists at most 1,000 refused rows; `rejectedAfter=<line>` pages on.",
        tag: "Evidence",
        auth: "evidence:write",
        response: ImportSchema,
      }),
      scoped,
      validate("query", ImportPageQuery),
      async (c) => {
        const id = c.req.param("id");
        const { view, stalled } = await getImport(deps, c.var.principal.tenant.id, id, {
          rejectedAfter: c.req.valid("query").rejectedAfter,
        });
        // Its processor was cut off (a restart, a Worker's time limit): go on.
        if (stalled) inBackground(c, deps, processImport(deps, id), "import");
        return c.json(view);
      },
    );
}
