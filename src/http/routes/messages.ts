import { Hono } from "hono";
import * as v from "valibot";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../../services/deps.js";
import { cancelMessage } from "../../services/messages/cancel-message.js";
import { messageIdByIdempotencyKey, messageState } from "../../services/messages/message-state.js";
import { sendMessage } from "../../services/messages/send-message.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { MessageStateSchema, SendMessageBody, SendResultSchema } from "../schemas.js";
import { validate } from "../validate.js";

const MessageIdParam = v.object({
  id: v.pipe(v.string(), v.regex(/^msg_[A-Za-z0-9_-]{1,100}$/, "a message id")),
});

export function messageRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .post(
      "/v1/messages",
      documented({
        summary: "Send a message to many recipients",
        description:
          'Decides for every recipient (up to 10,000, deduplicated by address) and writes every justification before anything is handed to the provider, then answers: `202` with `status: "sending"` while the delivery queue hands the chunks (at most 1,000 recipients each) to the provider — follow it with `GET /v1/messages/{id}` — or `200` when there is nothing to deliver. Marketing messages get the sender identity, a “why you receive this” sentence, the right to object, a per-recipient unsubscribe link and RFC 8058 one-click headers. `dryRun` decides and shows without sending or recording (`200`); `sendAt` schedules the send (`202`, decided when it goes). A retry with the same `Idempotency-Key` after a crash answers the message\'s state.',
        tag: "Sending",
        auth: "send",
        status: 202,
        response: SendResultSchema,
      }),
      requireScope(deps, "send"),
      idempotent(deps, {
        // A send cut off after it was proven: the retry gets the message's state, not a 409.
        recover: async (c, key) => {
          const tenantId = c.var.principal.tenant.id;
          const messageId = await messageIdByIdempotencyKey(deps, tenantId, key);
          const state = messageId ? await messageState(deps, tenantId, messageId) : null;
          return state ? c.json(state, 202) : null;
        },
      }),
      validate("json", SendMessageBody),
      async (c) => {
        const result = await sendMessage(deps, c.var.principal.tenant, c.req.valid("json"), {
          idempotencyKey: c.req.header("idempotency-key"),
        });
        const underWay = result.status === "scheduled" || result.status === "sending";
        return c.json(result, underWay ? 202 : 200);
      },
    )
    .get(
      "/v1/messages/:id",
      documented({
        summary: "A message's state and delivery",
        description:
          "The message's status (`scheduled`, `sending`, `sent`, `partially-failed`, `failed`, `cancelled`), its counts, its recipients by delivery status, and each chunk of at most 1,000 recipients: `queued` (with `nextAttemptAt` while it waits out a provider outage, retried with backoff for at least 6 hours), `handing`, `accepted`, `failed`, `unknown` (the provider's answer was lost: settled from its events, never sent again blindly) or `cancelled`.",
        tag: "Sending",
        auth: "send",
        response: MessageStateSchema,
        problems: ["not-found"],
      }),
      requireScope(deps, "send"),
      validate("param", MessageIdParam),
      async (c) => {
        const state = await messageState(deps, c.var.principal.tenant.id, c.req.valid("param").id);
        if (!state) throw new ProblemError("not-found");
        return c.json(state);
      },
    )
    .delete(
      "/v1/messages/:id",
      documented({
        summary: "Cancel what of a message has not been handed over",
        description:
          "A scheduled message is cancelled before it is decided. Of a message being sent, every chunk not yet handed to the provider is cancelled, and each of its recipients gets a superseding justification (`suppress`, reason `cancelled`). Answers the message's state; `409 message-not-cancellable` when everything was already handed over.",
        tag: "Sending",
        auth: "send",
        response: MessageStateSchema,
        problems: ["not-found", "message-not-cancellable"],
      }),
      requireScope(deps, "send"),
      idempotent(deps),
      validate("param", MessageIdParam),
      async (c) => {
        const state = await cancelMessage(deps, c.var.principal.tenant, c.req.valid("param").id);
        return c.json(state);
      },
    );
}
