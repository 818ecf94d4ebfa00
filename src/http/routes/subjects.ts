import { Hono } from "hono";
import * as v from "valibot";
import type { Deps } from "../../services/deps.js";
import { listSuppressions, STOP_REASONS } from "../../services/evidence/list-suppressions.js";
import { accessSubject, evidenceHistory } from "../../services/subjects/access.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { decodeCursor, NextCursor, PageQueryFields, pageOf } from "../pagination.js";
import { validate } from "../validate.js";

const EvidenceQuery = v.object({ email: v.pipe(v.string(), v.minLength(1, "required")) });

const SuppressionsQuery = v.object({
  ...PageQueryFields,
  reason: v.optional(v.picklist(STOP_REASONS)),
});

const SuppressionList = v.object({
  suppressions: v.array(
    v.object({
      id: v.pipe(v.string(), v.description("The evidence event that stops the address")),
      reason: v.picklist(STOP_REASONS),
      topic: v.nullable(v.string()),
      email: v.nullable(v.string()),
      subject: v.string(),
      since: v.string(),
    }),
  ),
  nextCursor: NextCursor,
});

/** Data-subject access (GDPR Art. 15, 20) and evidence history, for compliance staff. */
export function subjectRoutes(deps: Deps) {
  const scoped = requireScope(deps, "compliance:read");
  return new Hono<AppEnv>()
    .get(
      "/v1/suppressions",
      documented({
        summary: "Active suppressions and objections",
        description:
          "The tenant's active stops, newest first: for each address and reason (`hard-bounce`, `spam-complaint`, `restricted`, `erased`, `objected` — and topic, for an objection; `*` is all marketing) the latest such event, unless it was lifted or, for an objection to one topic or an erasure, a consent was given after it. `email` is null once erased; `subject` is the keyed hash evidence and proofs use. `reason` filters; paginated: `limit` and `cursor` → `nextCursor`.",
        tag: "Evidence",
        auth: "compliance:read",
        response: SuppressionList,
      }),
      scoped,
      validate("query", SuppressionsQuery),
      async (c) => {
        const { limit, cursor, reason } = c.req.valid("query");
        const after = decodeCursor(cursor, ["number", "string"]);
        const rows = await listSuppressions(deps, c.var.principal.tenant.id, {
          limit,
          after,
          reason,
        });
        const page = pageOf(rows, limit, (row) => [Date.parse(row.since), row.id]);
        c.header("cache-control", "no-store");
        return c.json({ suppressions: page.items, nextCursor: page.nextCursor });
      },
    )
    .get(
      "/v1/evidence",
      documented({
        summary: "A subject's evidence history",
        description:
          "Every evidence event held about the address, oldest first, with its personal part, the hash justifications cite it by, and its place in the tenant's evidence chain (`chain`: `{seq, prev, hash}`, null for an event outside it; docs/proof-log.md).",
        tag: "Data-subject rights",
        auth: "compliance:read",
      }),
      scoped,
      validate("query", EvidenceQuery),
      async (c) =>
        c.json(await evidenceHistory(deps, c.var.principal.tenant.id, c.req.valid("query").email)),
    )
    .get(
      "/v1/subjects/:email",
      documented({
        summary: "Data-subject access",
        description:
          "GDPR Art. 15 and 20: everything held about the address, machine-readable — its facts, evidence, decisions (justifications), suppressions and earlier requests. The request is recorded with its date and its one-month deadline (Art. 12(3)).",
        tag: "Data-subject rights",
        auth: "compliance:read",
      }),
      scoped,
      async (c) => {
        const answer = await accessSubject(deps, c.var.principal.tenant.id, c.req.param("email"));
        c.header("cache-control", "no-store");
        return c.json(answer);
      },
    );
}
