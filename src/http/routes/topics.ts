import { Hono } from "hono";
import { defineTopic } from "../../services/define-topic.js";
import type { Deps } from "../../services/deps.js";
import { listTopics } from "../../services/topics.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { DefineTopicBody } from "../schemas.js";
import { validate } from "../validate.js";

export function topicRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .post(
      "/v1/topics",
      documented({
        summary: "Define a topic",
        tag: "Topics",
        auth: "admin",
        status: 201,
        description:
          "A kind of message: `marketing` (with the product `categories` it promotes) or `service` (sent on `contract` or `legal-obligation`). A topic is not redefined once created.",
      }),
      requireScope(deps, "admin"),
      idempotent(deps),
      validate("json", DefineTopicBody),
      async (c) =>
        c.json(await defineTopic(deps, c.var.principal.tenant.id, c.req.valid("json")), 201),
    )
    .get(
      "/v1/topics",
      documented({ summary: "List topics", tag: "Topics", auth: "admin" }),
      requireScope(deps, "admin"),
      async (c) => c.json({ topics: await listTopics(deps, c.var.principal.tenant.id) }),
    );
}
