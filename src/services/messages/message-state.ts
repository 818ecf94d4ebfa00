import { and, asc, count, eq } from "drizzle-orm";
import { deliveryChunks, justifications, messages } from "../../db/schema.js";
import type { Deps } from "../deps.js";

type MessageStatus = (typeof messages.$inferSelect)["status"];
type ChunkStatus = (typeof deliveryChunks.$inferSelect)["status"];

/** A message as `GET /v1/messages/{id}` shows it (docs/design.md §5): its state, counts and chunks. */
export interface MessageState {
  messageId: string;
  topic: string;
  /** `scheduled`, `sending` (chunks queued, being handed over or unknown), `sent`, `partially-failed`, `failed`, `cancelled`. */
  status: MessageStatus;
  createdAt: string;
  sendAt: string | null;
  counts: { recipients: number; send: number; suppress: number };
  /** The recipients decided `send`, by delivery status (`pending`, `accepted`, `delivered`, `unknown`, `failed`, `cancelled`, …). */
  delivery: Record<string, number>;
  chunks: {
    chunk: number;
    status: ChunkStatus;
    recipients: number;
    attempts: number;
    /** When a chunk waiting out a provider outage is tried again. */
    nextAttemptAt: string | null;
    providerMessageId: string | null;
    error: string | null;
    updatedAt: string;
  }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A message of the tenant's, with its delivery; null if the tenant has none by that id. */
export async function messageState(
  deps: Deps,
  tenantId: string,
  messageId: string,
): Promise<MessageState | null> {
  const message = await deps.db.query.messages.findFirst({
    columns: { request: false, composition: false },
    where: and(eq(messages.id, messageId), eq(messages.tenantId, tenantId)),
  });
  if (!message) return null;
  const [chunks, byStatus] = await deps.db.batch([
    deps.db
      .select()
      .from(deliveryChunks)
      .where(eq(deliveryChunks.messageId, messageId))
      .orderBy(asc(deliveryChunks.chunk)),
    deps.db
      .select({ status: justifications.status, recipients: count() })
      .from(justifications)
      .where(and(eq(justifications.messageId, messageId), eq(justifications.decision, "send")))
      .groupBy(justifications.status),
  ]);
  const now = deps.clock();
  return {
    messageId: message.id,
    topic: message.topic,
    status: message.status,
    createdAt: iso(message.createdAt),
    sendAt: message.sendAt === null ? null : iso(message.sendAt),
    counts: {
      recipients: message.recipients,
      send: message.sendCount,
      suppress: message.suppressCount,
    },
    delivery: Object.fromEntries(byStatus.map((row) => [row.status, row.recipients])),
    chunks: chunks.map((c) => ({
      chunk: c.chunk,
      status: c.status,
      recipients: c.recipients,
      attempts: c.attempts,
      nextAttemptAt: c.status === "queued" && c.nextAttemptAt > now ? iso(c.nextAttemptAt) : null,
      providerMessageId: c.providerMessageId,
      error: c.error,
      updatedAt: iso(c.updatedAt),
    })),
  };
}

/** The message sent with this `Idempotency-Key`, if one was (a retry after a crash). */
export async function messageIdByIdempotencyKey(
  deps: Deps,
  tenantId: string,
  idempotencyKey: string,
): Promise<string | null> {
  const row = await deps.db.query.messages.findFirst({
    columns: { id: true },
    where: and(eq(messages.tenantId, tenantId), eq(messages.idempotencyKey, idempotencyKey)),
  });
  return row?.id ?? null;
}
