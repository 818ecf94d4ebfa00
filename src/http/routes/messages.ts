import { Hono } from "hono";
import type { Deps } from "../../services/deps.js";
import { sendMessage } from "../../services/messages/send-message.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { SendMessageBody, SendResultSchema } from "../schemas.js";
import { validate } from "../validate.js";

export function messageRoutes(deps: Deps) {
  return new Hono<AppEnv>().post(
    "/v1/messages",
    documented({
      summary: "Send a message to many recipients",
      description:
        "Decides for every recipient (up to 10,000, deduplicated by address), writes every justification before anything is handed to the provider, and delivers in chunks of at most 1,000. Marketing messages get the sender identity, a “why you receive this” sentence, the right to object, a per-recipient unsubscribe link and RFC 8058 one-click headers. `dryRun` decides and shows without sending or recording; `sendAt` schedules the send (decided when it goes).",
      tag: "Sending",
      auth: "send",
      response: SendResultSchema,
    }),
    requireScope(deps, "send"),
    idempotent(deps),
    validate("json", SendMessageBody),
    async (c) => {
      const result = await sendMessage(deps, c.var.principal.tenant, c.req.valid("json"));
      return c.json(result, result.status === "scheduled" ? 202 : 200);
    },
  );
}
