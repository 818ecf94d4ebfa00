import { and, eq, lte } from "drizzle-orm";
import { messages } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { loadTenant } from "../tenant.js";
import { getTopic } from "../topics.js";
import { composeFor } from "./compose.js";
import { decideRecipients } from "./decide-recipients.js";
import { deliverMessage, deliverOrEnqueue, recoverInterruptedSends } from "./deliver-message.js";
import { proveMessage } from "./send-message.js";

/**
 * Sends the scheduled messages whose time has come. A message is claimed by
 * moving it from `scheduled` in one conditional update, so two schedulers
 * never send it twice. Recipients are decided when the message goes, not
 * when it was scheduled: an objection in between is honoured.
 */
export async function runDueMessages(deps: Deps): Promise<number> {
  const due = await deps.db
    .select({ id: messages.id, tenantId: messages.tenantId })
    .from(messages)
    .where(and(eq(messages.status, "scheduled"), lte(messages.sendAt, deps.clock())))
    .limit(100);
  let sent = 0;
  for (const { id, tenantId } of due) {
    const claimed = await deps.db
      .update(messages)
      .set({ status: "sending", updatedAt: deps.clock() })
      .where(and(eq(messages.id, id), eq(messages.status, "scheduled")))
      .returning({ request: messages.request, composition: messages.composition });
    const [message] = claimed;
    if (!message?.request) continue;
    const { request } = message;
    const tenant = await loadTenant(deps, tenantId);
    const topic = await getTopic(deps, tenantId, request.topic);
    // Composed when it was scheduled; one scheduled by an older version is composed now.
    const composition = message.composition ?? composeFor(tenant, topic, request);
    const decided = await decideRecipients(deps, tenant, topic, id, request.recipients);
    const chunkCount = await proveMessage(deps, tenant, topic.id, id, {
      request,
      composition,
      decided,
    });
    await deliverOrEnqueue(deps, tenant, id, chunkCount);
    sent += 1;
  }
  return sent;
}

/**
 * At start: sends cut off by a restart are finished — chunks that were being
 * handed over become `unknown` (never re-sent blindly: settled from the
 * provider's events), queued chunks are delivered by the delivery worker.
 */
export async function resumeInterruptedSends(deps: Deps): Promise<void> {
  const messageIds = await recoverInterruptedSends(deps);
  if (deps.wakeDelivery) {
    deps.wakeDelivery();
    return;
  }
  for (const messageId of messageIds) {
    const message = await deps.db.query.messages.findFirst({ where: eq(messages.id, messageId) });
    if (!message) continue;
    await deliverMessage(deps, await loadTenant(deps, message.tenantId), messageId);
  }
}
