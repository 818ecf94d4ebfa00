import { and, asc, eq, sql } from "drizzle-orm";
import { deliveryChunks, justifications, messages } from "../../db/schema.js";
import type { Deps } from "../deps.js";

export interface MessageView {
  id: string;
  topic: string;
  status: string;
  subject: string | null;
  recipients: number;
  counts: { send: number; suppress: number };
  /** Suppressed recipients by their first reason; sent ones by basis. */
  reasons: { reason: string; count: number }[];
  bases: { basis: string; count: number }[];
  /** Recipients by delivery status (pending, accepted, delivered, bounced, …). */
  statuses: { status: string; count: number }[];
  chunks: {
    chunk: number;
    status: string;
    recipients: number;
    attempts: number;
    providerMessageId: string | null;
    error: string | null;
    updatedAt: string;
  }[];
  sendAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * A message's page in the workbench: its state, how many recipients were
 * sent to and suppressed and why, and its delivery chunks — from what the
 * database holds, aggregated in SQL over the message's index. Null for a
 * message of another tenant or none.
 */
export async function messageView(
  deps: Deps,
  tenantId: string,
  messageId: string,
): Promise<MessageView | null> {
  const message = await deps.db.query.messages.findFirst({
    where: and(eq(messages.id, messageId), eq(messages.tenantId, tenantId)),
  });
  if (!message) return null;
  const ofMessage = and(
    eq(justifications.tenantId, tenantId),
    eq(justifications.messageId, messageId),
    // A superseded decision is not the recipient's last word (the subquery
    // runs once, over the message's index).
    sql`${justifications.id} NOT IN (SELECT later.supersedes FROM ${justifications} AS later
      WHERE later.message_id = ${messageId} AND later.supersedes IS NOT NULL)`,
  );
  const [byOutcome, statuses, chunks] = await Promise.all([
    deps.db
      .select({
        decision: justifications.decision,
        key: sql<string>`CASE WHEN ${justifications.decision} = 'send' THEN coalesce(${justifications.basis}, 'unknown')
          ELSE coalesce(json_extract(${justifications.reasons}, '$[0]'), 'unknown') END`,
        count: sql<number>`count(*)`,
      })
      .from(justifications)
      .where(ofMessage)
      .groupBy(sql`1, 2`),
    deps.db
      .select({ status: justifications.status, count: sql<number>`count(*)` })
      .from(justifications)
      .where(ofMessage)
      .groupBy(justifications.status),
    deps.db
      .select()
      .from(deliveryChunks)
      .where(eq(deliveryChunks.messageId, messageId))
      .orderBy(asc(deliveryChunks.chunk)),
  ]);
  const count = (decision: "send" | "suppress") =>
    byOutcome.filter((r) => r.decision === decision).reduce((n, r) => n + Number(r.count), 0);
  return {
    id: message.id,
    topic: message.topic,
    status: message.status,
    subject: message.request?.subject ?? null,
    recipients: message.recipients,
    counts: { send: count("send"), suppress: count("suppress") },
    reasons: byOutcome
      .filter((r) => r.decision === "suppress")
      .map((r) => ({ reason: r.key, count: Number(r.count) }))
      .sort((a, b) => b.count - a.count),
    bases: byOutcome
      .filter((r) => r.decision === "send")
      .map((r) => ({ basis: r.key, count: Number(r.count) }))
      .sort((a, b) => b.count - a.count),
    statuses: statuses
      .map((r) => ({ status: r.status, count: Number(r.count) }))
      .sort((a, b) => b.count - a.count),
    chunks: chunks.map((c) => ({
      chunk: c.chunk,
      status: c.status,
      recipients: c.recipients,
      attempts: c.attempts,
      providerMessageId: c.providerMessageId,
      error: c.error,
      updatedAt: new Date(c.updatedAt).toISOString(),
    })),
    sendAt: message.sendAt === null ? null : new Date(message.sendAt).toISOString(),
    createdAt: new Date(message.createdAt).toISOString(),
    updatedAt: new Date(message.updatedAt).toISOString(),
  };
}
