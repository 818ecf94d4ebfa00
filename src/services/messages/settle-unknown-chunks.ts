import { and, eq, gte, inArray, lte, sql } from "drizzle-orm";
import { deliveryChunks, justifications, messages, providerEvents } from "../../db/schema.js";
import { UNKNOWN_QUIET_MS } from "../../domain/delivery-schedule.js";
import type { Deps } from "../deps.js";
import { settleMessage } from "./deliver-message.js";

/** Statuses only the provider's events set: a recipient with one was taken by the provider. */
const SEEN_BY_PROVIDER = [
  "accepted",
  "deferred",
  "delivered",
  "blocked",
  "bounced",
  "dropped",
] as const;

/** A chunk handed back to the queue: Workers enqueue it again. */
export interface RequeuedChunk {
  tenantId: string;
  messageId: string;
  chunk: number;
}

/**
 * Settles chunks whose hand-over had an outcome that could not be known (docs/design.md §7,
 * domain/delivery-schedule.ts): never by sending blindly again.
 * - If the provider's events (`processed`, `delivered`, `dropped`, …, matched by the
 *   justification id in `custom_args`) name any recipient of the chunk, the provider took the
 *   request: the chunk is `accepted`, and its recipients with no event yet too.
 * - If none came for `UNKNOWN_QUIET_MS` while events for the tenant did arrive after the chunk
 *   went unknown (so the event webhook works and would have told), it was not taken: the chunk
 *   is queued again and its recipients are `pending` once more (re-checked before it goes).
 * - Otherwise it stays `unknown`, shown as such by `GET /v1/messages/{id}`.
 * Answers how many chunks were settled each way.
 */
export async function settleUnknownChunks(
  deps: Deps,
): Promise<{ accepted: number; requeued: RequeuedChunk[] }> {
  const now = deps.clock();
  const unknown = await deps.db
    .select({
      messageId: deliveryChunks.messageId,
      chunk: deliveryChunks.chunk,
      since: deliveryChunks.updatedAt,
      tenantId: messages.tenantId,
    })
    .from(deliveryChunks)
    .innerJoin(messages, eq(messages.id, deliveryChunks.messageId))
    .where(eq(deliveryChunks.status, "unknown"))
    .limit(100);
  let accepted = 0;
  const requeued: RequeuedChunk[] = [];
  for (const { messageId, chunk, since, tenantId } of unknown) {
    const rowsOfChunk = and(
      eq(justifications.messageId, messageId),
      eq(justifications.chunk, chunk),
    );
    const wasUnknown = and(
      eq(deliveryChunks.messageId, messageId),
      eq(deliveryChunks.chunk, chunk),
      eq(deliveryChunks.status, "unknown"),
    );
    const seen = await deps.db
      .select({ id: justifications.id })
      .from(justifications)
      .where(and(rowsOfChunk, inArray(justifications.status, [...SEEN_BY_PROVIDER])))
      .limit(1);
    if (seen.length > 0) {
      const [marked] = await deps.db.batch([
        deps.db
          .update(deliveryChunks)
          .set({ status: "accepted", error: null, updatedAt: now })
          .where(wasUnknown)
          .returning({ chunk: deliveryChunks.chunk }),
        deps.db
          .update(justifications)
          .set({ status: "accepted", error: "settled by the provider's events", statusAt: now })
          .where(and(rowsOfChunk, eq(justifications.status, "unknown"))),
      ]);
      if (marked.length > 0) {
        accepted += 1;
        await settleMessage(deps, messageId);
      }
      continue;
    }
    if (since + UNKNOWN_QUIET_MS > now) continue;
    const eventsArrive = await deps.db
      .select({ at: providerEvents.receivedAt })
      .from(providerEvents)
      .where(and(eq(providerEvents.tenantId, tenantId), gte(providerEvents.receivedAt, since)))
      .limit(1);
    if (eventsArrive.length === 0) continue;
    const [marked] = await deps.db.batch([
      deps.db
        .update(deliveryChunks)
        .set({ status: "queued", nextAttemptAt: now, updatedAt: now })
        .where(and(wasUnknown, lte(deliveryChunks.updatedAt, since)))
        .returning({ chunk: deliveryChunks.chunk }),
      deps.db
        .update(justifications)
        .set({ status: "pending", error: null, statusAt: now })
        .where(
          and(
            rowsOfChunk,
            eq(justifications.status, "unknown"),
            // Only if this call queued the chunk again.
            sql`exists (select 1 from ${deliveryChunks} where ${deliveryChunks.messageId} = ${messageId} and ${deliveryChunks.chunk} = ${chunk} and ${deliveryChunks.status} = 'queued' and ${deliveryChunks.updatedAt} = ${now})`,
          ),
        ),
    ]);
    if (marked.length > 0) requeued.push({ tenantId, messageId, chunk });
  }
  return { accepted, requeued };
}
