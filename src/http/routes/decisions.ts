import { Hono } from "hono";
import { decideForSubject } from "../../services/decide-for-subject.js";
import type { Deps } from "../../services/deps.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { DecisionQuery, DecisionSchema } from "../schemas.js";
import { validate } from "../validate.js";

export function decisionRoutes(deps: Deps) {
  return new Hono<AppEnv>().get(
    "/v1/subjects/:email/decision",
    documented({
      summary: "What would happen now, and why",
      description:
        "The decision for a message of `topic` to this address now: `{decision, basis, reasons, ruleSet, evidence, trace}`. Nothing is sent or recorded.",
      tag: "Decisions",
      auth: "send",
      response: DecisionSchema,
    }),
    requireScope(deps, "send"),
    validate("query", DecisionQuery),
    async (c) =>
      c.json(
        await decideForSubject(
          deps,
          c.var.principal.tenant,
          c.req.param("email"),
          c.req.valid("query").topic,
        ),
      ),
  );
}
