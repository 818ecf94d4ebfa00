import { Hono } from "hono";
import { defineTopic } from "../../services/define-topic.js";
import type { Deps } from "../../services/deps.js";
import { listTopics } from "../../services/topics.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { decodeCursor, PageQuery, pageOf } from "../pagination.js";
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
      documented({
        summary: "List topics",
        tag: "Topics",
        auth: "admin",
        description:
          "The tenant's topics, by id. Paginated like every list: `limit` and `cursor` → `nextCursor`.",
      }),
      requireScope(deps, "admin"),
      validate("query", PageQuery),
      async (c) => {
        const { limit, cursor } = c.req.valid("query");
        const [after] = decodeCursor(cursor, ["string"]) ?? [];
        // A tenant has few topics: read whole, by id, and cut.
        const all = await listTopics(deps, c.var.principal.tenant.id);
        const rest = after === undefined ? all : all.filter((topic) => topic.id > String(after));
        const page = pageOf(rest.slice(0, limit + 1), limit, (topic) => [topic.id]);
        return c.json({ topics: page.items, nextCursor: page.nextCursor });
      },
    );
}
