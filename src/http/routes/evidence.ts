import { Hono } from "hono";
import type { Deps } from "../../services/deps.js";
import { eraseSubject } from "../../services/evidence/erase-subject.js";
import { liftSuppression } from "../../services/evidence/lift-suppression.js";
import { recordConsent } from "../../services/evidence/record-consent.js";
import { recordCustomer } from "../../services/evidence/record-customer.js";
import { recordEngagement } from "../../services/evidence/record-engagement.js";
import { recordObjection } from "../../services/evidence/record-objection.js";
import { recordSubjectFacts } from "../../services/evidence/record-subject-facts.js";
import { recordSuppression } from "../../services/evidence/record-suppression.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import {
  ConsentBody,
  CustomerBody,
  EngagementBody,
  ObjectionBody,
  RecordedEvidenceSchema,
  SubjectFactsPut,
  SuppressionBody,
} from "../schemas.js";
import { validate } from "../validate.js";

const write = (summary: string, description: string) =>
  documented({
    summary,
    description,
    tag: "Evidence",
    auth: "evidence:write",
    status: 201,
    response: RecordedEvidenceSchema,
  });

/** Evidence writes (docs/design.md §5): each appends events and answers what it recorded. */
export function evidenceRoutes(deps: Deps) {
  const scoped = requireScope(deps, "evidence:write");
  const once = idempotent(deps);
  return new Hono<AppEnv>()
    .post(
      "/v1/consents",
      write(
        "Grant or withdraw consent",
        "One event per topic. The IP is stored anonymised (IPv4 /24, IPv6 /48); the wording is stored as its version and SHA-256.",
      ),
      scoped,
      once,
      validate("json", ConsentBody),
      async (c) => {
        const evidence = await recordConsent(deps, c.var.principal.tenant.id, c.req.valid("json"));
        return c.json({ evidence }, 201);
      },
    )
    .post(
      "/v1/customers",
      write(
        "Record a customer relationship",
        "A purchase (or an inquiry): the ground for the soft opt-in and for implied consent.",
      ),
      scoped,
      once,
      validate("json", CustomerBody),
      async (c) => {
        const evidence = await recordCustomer(deps, c.var.principal.tenant.id, c.req.valid("json"));
        return c.json({ evidence }, 201);
      },
    )
    .post(
      "/v1/engagements",
      write("Record an engagement", "An open, click or visit keeps consent fresh."),
      scoped,
      once,
      validate("json", EngagementBody),
      async (c) => {
        const evidence = await recordEngagement(
          deps,
          c.var.principal.tenant.id,
          c.req.valid("json"),
        );
        return c.json({ evidence }, 201);
      },
    )
    .post(
      "/v1/objections",
      write(
        "Record an objection",
        'GDPR Art. 21(2)–(3): to listed topics, or to all marketing with `["*"]`. Durable once answered.',
      ),
      scoped,
      once,
      validate("json", ObjectionBody),
      async (c) => {
        const evidence = await recordObjection(
          deps,
          c.var.principal.tenant.id,
          c.req.valid("json"),
        );
        return c.json({ evidence }, 201);
      },
    )
    .post(
      "/v1/suppressions",
      write(
        "Record a suppression",
        "`hard-bounce`, `spam-complaint` (an objection to all marketing) or `restricted` (GDPR Art. 18).",
      ),
      scoped,
      once,
      validate("json", SuppressionBody),
      async (c) => {
        const evidence = await recordSuppression(
          deps,
          c.var.principal.tenant.id,
          c.req.valid("json"),
        );
        return c.json({ evidence }, 201);
      },
    )
    .delete(
      "/v1/suppressions/:email/:reason",
      documented({
        summary: "Lift a suppression",
        description:
          "Lifts `restricted` (GDPR Art. 18(3)) or `hard-bounce`. A spam complaint or an erasure is lifted only by the person's fresh consent.",
        tag: "Evidence",
        auth: "evidence:write",
        response: RecordedEvidenceSchema,
      }),
      scoped,
      once,
      async (c) => {
        const evidence = await liftSuppression(
          deps,
          c.var.principal.tenant.id,
          c.req.param("email"),
          c.req.param("reason"),
        );
        return c.json({ evidence });
      },
    )
    .delete(
      "/v1/subjects/:email",
      documented({
        summary: "Erase a subject",
        description:
          "GDPR Art. 17: the address and every personal datum held about it are removed; a keyed-hash tombstone remains, so the address is never mailed again without a fresh opt-in.",
        tag: "Data-subject rights",
        auth: "admin",
        response: RecordedEvidenceSchema,
      }),
      requireScope(deps, "admin"),
      once,
      async (c) => {
        const evidence = await eraseSubject(deps, c.var.principal.tenant.id, c.req.param("email"));
        return c.json({ evidence });
      },
    )
    .put(
      "/v1/subjects/:email",
      documented({
        summary: "Record facts about a subject",
        description:
          "Country (which chooses the rule set), subscriber type, birth year or verified age (for the age of digital consent). Every fact is optional: what is left out stays as held, or unknown — no country means the tenant's default country, no subscriber type means `individual`.",
        tag: "Evidence",
        auth: "evidence:write",
      }),
      scoped,
      once,
      validate("json", SubjectFactsPut),
      async (c) => {
        const facts = await recordSubjectFacts(
          deps,
          c.var.principal.tenant.id,
          c.req.param("email"),
          c.req.valid("json"),
        );
        return c.json(facts);
      },
    );
}
