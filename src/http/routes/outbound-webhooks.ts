import { Hono } from "hono";
import * as v from "valibot";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../../services/deps.js";
import { listDeliveries } from "../../services/outbound-webhooks/list-deliveries.js";
import { rotateWebhookSecret } from "../../services/outbound-webhooks/rotate-secret.js";
import { webhookSecret } from "../../services/outbound-webhooks/secret.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { decodeCursor, NextCursor, PageQueryFields, pageOf } from "../pagination.js";
import { validate } from "../validate.js";

const STATUSES = ["pending", "delivered", "failed", "cancelled"] as const;

const DeliveriesQuery = v.object({
  ...PageQueryFields,
  status: v.optional(v.picklist(STATUSES)),
});

const DeliveryList = v.object({
  deliveries: v.array(
    v.object({
      id: v.string(),
      messageId: v.pipe(v.string(), v.description("The `webhook-id` the endpoint receives")),
      type: v.string(),
      url: v.string(),
      status: v.picklist(STATUSES),
      createdAt: v.string(),
      nextAttemptAt: v.nullable(v.string()),
      attempts: v.array(
        v.object({
          at: v.string(),
          statusCode: v.nullable(v.number()),
          error: v.nullable(v.string()),
          durationMs: v.number(),
        }),
      ),
    }),
  ),
  nextCursor: NextCursor,
});

const SecretSchema = v.object({
  secret: v.pipe(v.string(), v.description("`whsec_` and base64: the Standard Webhooks form")),
});

/** Outbound webhooks (docs/design.md §5): the signing secret, and every delivery with its attempts. */
export function outboundWebhookRoutes(deps: Deps) {
  const admin = requireScope(deps, "admin");
  return new Hono<AppEnv>()
    .get(
      "/v1/webhooks/secret",
      documented({
        summary: "The webhook signing secret",
        description:
          "The secret outbound webhooks are signed with (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), for the receiver's verifier. Made when the first endpoint is set in `PATCH /v1/settings` (`webhooks`); 404 before. Readable by admin keys only, which can change the endpoints anyway; stored encrypted.",
        tag: "Webhooks",
        auth: "admin",
        response: SecretSchema,
        problems: ["not-found"],
      }),
      admin,
      async (c) => {
        const secret = await webhookSecret(deps, c.var.principal.tenant.id);
        if (!secret) {
          throw new ProblemError("not-found", { detail: "No webhook endpoint was set yet." });
        }
        c.header("cache-control", "no-store");
        return c.json({ secret });
      },
    )
    .post(
      "/v1/webhooks/secret",
      documented({
        summary: "Rotate the webhook signing secret",
        description:
          "A new secret, answered once here (and readable again with `GET`); every delivery from now on, retries included, is signed with it. Recorded as a settings change.",
        tag: "Webhooks",
        auth: "admin",
        response: SecretSchema,
      }),
      admin,
      idempotent(deps),
      async (c) => {
        const { tenant, keyId } = c.var.principal;
        const secret = await rotateWebhookSecret(deps, tenant.id, { keyId });
        c.header("cache-control", "no-store");
        c.set("replayBody", JSON.stringify({ secret: null }));
        return c.json({ secret });
      },
    )
    .get(
      "/v1/webhooks/deliveries",
      documented({
        summary: "Outbound webhook deliveries",
        description:
          "Every delivery of an outbound webhook to an endpoint, newest first, with each attempt (time, HTTP status, error, duration — never the endpoint's answer) and, while `pending`, when it is tried next. Retried with backoff (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) for 27.5 hours, then `failed`. No address is shown. `status` filters; paginated: `limit` and `cursor` → `nextCursor`.",
        tag: "Webhooks",
        auth: "compliance:read",
        response: DeliveryList,
      }),
      requireScope(deps, "compliance:read"),
      validate("query", DeliveriesQuery),
      async (c) => {
        const { limit, cursor, status } = c.req.valid("query");
        const after = decodeCursor(cursor, ["number", "string"]);
        const rows = await listDeliveries(deps, c.var.principal.tenant.id, {
          limit,
          after,
          status,
        });
        const page = pageOf(rows, limit, (d) => [Date.parse(d.createdAt), d.id]);
        return c.json({ deliveries: page.items, nextCursor: page.nextCursor });
      },
    );
}
