import { and, eq, gte, inArray, lte, sql } from "drizzle-orm";
import { deliveryChunks, evidence, justifications, messages } from "../../db/schema.js";
import { normaliseAddress } from "../../domain/address.js";
import { decide } from "../../domain/decision/decide.js";
import { retryDelayMs, withinRetryWindow } from "../../domain/delivery-schedule.js";
import type { Topic } from "../../domain/topic.js";
import type { Basis } from "../../domain/vocabulary.js";
import type { OutgoingMail, Personalization } from "../delivery/provider.js";
import type { Deps } from "../deps.js";
import { appendJustifications, type JustificationDraft } from "../proofs/append-justifications.js";
import type { JustificationRow } from "../proofs/justification-content.js";
import { tenantSendGridKey } from "../settings/tenant-sendgrid-key.js";
import { inJsonArray, loadSubjectHistories } from "../subject-facts.js";
import { topicsOf } from "../subscriptions/confirmation-message.js";
import { policyOf, type TenantRow } from "../tenant.js";
import { getTopic } from "../topics.js";
import { composeFor, type PersonalizeInput, personalizerFor } from "./compose.js";
import { draftFor, type Recipient } from "./decide-recipients.js";

type ChunkStatus = (typeof deliveryChunks.$inferSelect)["status"];

/** A recipient of a chunk still to be handed over: what delivery reads of its justification. */
type PendingRow = Pick<
  JustificationRow,
  "id" | "subjectKey" | "email" | "basis" | "evidence" | "decidedAt"
>;

/**
 * Hands a proven message's due chunks to the provider, one after another (a
 * runtime without a queue: the CLI, a bare test). Every chunk is claimed
 * `handing` before the provider call and its outcome recorded after, so a
 * message is never delivered twice, nor without its justification.
 */
export async function deliverMessage(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
): Promise<MessageStatus | null> {
  const prepared = await prepareDelivery(deps, tenant, messageId);
  if (!prepared) return null;
  const chunks = await deps.db
    .select({ chunk: deliveryChunks.chunk })
    .from(deliveryChunks)
    .where(and(eq(deliveryChunks.messageId, messageId), eq(deliveryChunks.status, "queued")))
    .orderBy(deliveryChunks.chunk);
  for (const { chunk } of chunks) {
    await deliverChunk(deps, tenant, messageId, chunk, prepared);
  }
  return settleMessage(deps, messageId);
}

/**
 * Delivers one chunk of a proven message: the delivery queue's unit of work. Safe to call
 * again for the same chunk — a redelivered queue message, two workers — since the chunk is
 * claimed `queued → handing` in one conditional update and only the claimant sends. The caller
 * settles the message (`settleMessage`). Answers what became of the chunk. `prepared` caches
 * what the chunks of one message share (a worker handing over several of them in a row).
 */
export async function deliverChunkOf(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
  chunk: number,
  prepared: Map<string, Promise<PreparedDelivery | null>> = new Map(),
): Promise<ChunkResult> {
  let delivery = prepared.get(messageId);
  if (!delivery) {
    delivery = prepareDelivery(deps, tenant, messageId);
    prepared.set(messageId, delivery);
  }
  const ready = await delivery;
  if (!ready) return { status: "gone" };
  return deliverChunk(deps, tenant, messageId, chunk, ready);
}

/**
 * After a send is proven (`proveMessage`, which answers the chunk count): delivery leaves the
 * request (docs/design.md §7). The chunks go to the queue — Cloudflare Queues on Workers
 * (`deps.enqueueChunks`), the worker over the database on Node (`deps.wakeDelivery`); only a
 * runtime with neither delivers here. Answers the message's status: `sending` while queued.
 */
export async function deliverOrEnqueue(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
  chunkCount: number,
): Promise<MessageStatus> {
  if (chunkCount === 0) return settleMessage(deps, messageId);
  if (deps.enqueueChunks) {
    await deps.enqueueChunks(
      tenant.id,
      messageId,
      Array.from({ length: chunkCount }, (_, chunk) => chunk),
    );
    return "sending";
  }
  if (deps.wakeDelivery) {
    deps.wakeDelivery();
    return "sending";
  }
  return (await deliverMessage(deps, tenant, messageId)) ?? "sending";
}

type MessageStatus = (typeof messages.$inferSelect)["status"];

/** What became of one chunk's turn; `retry` says when it is due again (an outage). */
export type ChunkResult =
  | { status: "accepted" | "failed" | "unknown" | "cancelled" }
  | { status: "retry"; at: number }
  /** Not this call's to send: claimed by another, not due yet, or its message is gone. */
  | { status: "gone" };

export interface PreparedDelivery {
  topic: Topic;
  /** The tenant's own provider key, if it has one: read once per message. */
  apiKey: string | null;
  personalize: (input: PersonalizeInput) => Personalization;
  mail: Omit<OutgoingMail, "personalizations">;
  recipientsByAddress: Map<string, Recipient>;
}

/** What every chunk of a message is built from: read once per message, never composed again. */
async function prepareDelivery(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
): Promise<PreparedDelivery | null> {
  const message = await deps.db.query.messages.findFirst({
    where: and(eq(messages.id, messageId), eq(messages.tenantId, tenant.id)),
  });
  const { request } = message ?? {};
  if (!message || !request) return null;
  const messageTopic = await getTopic(deps, tenant.id, request.topic);
  // A double opt-in request is composed about its topics and re-checked as
  // the message the person asked for (subscriptions/confirmation-message.ts).
  const { composeTopic, decisionTopic: topic } = topicsOf(messageTopic, request);
  // Composed when it was sent; only a message stored before compositions
  // were kept (an older version's send cut off by the upgrade) is composed here.
  const composition = message.composition ?? composeFor(tenant, composeTopic, request);
  const recipientsByAddress = new Map<string, Recipient>(
    request.recipients.map((r) => [normaliseAddress(r.email), r]),
  );
  return {
    topic,
    apiKey: await tenantSendGridKey(deps, tenant.id),
    personalize: personalizerFor(deps, tenant, composition),
    mail: composition.mail,
    recipientsByAddress,
  };
}

async function deliverChunk(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
  chunk: number,
  { topic, apiKey, personalize, mail: shared, recipientsByAddress }: PreparedDelivery,
): Promise<ChunkResult> {
  const claimedAt = deps.clock();
  // Claimed before anything else, so two workers never both re-check or send it; the first
  // hand-over starts the retry window.
  const claimed = await deps.db
    .update(deliveryChunks)
    .set({
      status: "handing",
      attempts: sql`${deliveryChunks.attempts} + 1`,
      firstAttemptAt: sql`coalesce(${deliveryChunks.firstAttemptAt}, ${claimedAt})`,
      updatedAt: claimedAt,
    })
    .where(
      and(
        eq(deliveryChunks.messageId, messageId),
        eq(deliveryChunks.chunk, chunk),
        eq(deliveryChunks.status, "queued"),
        lte(deliveryChunks.nextAttemptAt, claimedAt),
      ),
    )
    .returning({
      attempts: deliveryChunks.attempts,
      firstAttemptAt: deliveryChunks.firstAttemptAt,
    });
  const [claim] = claimed;
  if (!claim) return { status: "gone" };
  const pending = await recheck(deps, tenant, topic, messageId, chunk);
  if (pending.length === 0) {
    await setChunkStatus(deps, messageId, chunk, "accepted");
    return { status: "accepted" };
  }
  const personalizations: Personalization[] = pending.map((row) => {
    const recipient = recipientsByAddress.get(normaliseAddress(row.email ?? "")) ?? {
      email: row.email ?? "",
    };
    return personalize({
      messageId,
      justificationId: row.id,
      subjectKey: row.subjectKey,
      basis: row.basis as Basis,
      evidence: row.evidence as { kind: string; at: string }[],
      recipient,
    });
  });
  const mail: OutgoingMail = { ...shared, personalizations };
  const outcome = await deps.provider.send(mail, {
    tenantId: tenant.id,
    ...(apiKey ? { apiKey } : {}),
  });
  const now = deps.clock();
  const thisChunk = and(eq(deliveryChunks.messageId, messageId), eq(deliveryChunks.chunk, chunk));
  if (
    outcome.status === "failed" &&
    outcome.retryable &&
    withinRetryWindow(claim.firstAttemptAt ?? claimedAt, now)
  ) {
    // Nothing was accepted (no connection, 429, 5xx): queued again, later. Its recipients stay
    // `pending`, so an objection meanwhile is still honoured by the next re-check.
    const at = now + retryDelayMs(claim.attempts, outcome.retryAfterMs, Math.random());
    await deps.db
      .update(deliveryChunks)
      .set({ status: "queued", nextAttemptAt: at, error: outcome.error, updatedAt: now })
      .where(thisChunk);
    return { status: "retry", at };
  }
  const ids = pending.map((row) => row.id);
  await deps.db.batch([
    deps.db
      .update(deliveryChunks)
      .set({
        status: outcome.status,
        providerMessageId: outcome.status === "accepted" ? outcome.providerMessageId : null,
        error: outcome.status === "accepted" ? null : outcome.error,
        updatedAt: now,
      })
      .where(thisChunk),
    deps.db
      .update(justifications)
      .set({
        status: outcome.status,
        providerMessageId: outcome.status === "accepted" ? outcome.providerMessageId : null,
        error: outcome.status === "accepted" ? null : outcome.error,
        statusAt: now,
      })
      // By id alone: the ids are this message's own rows, and a tenant filter
      // would lead SQLite to scan the tenant's whole proof log.
      .where(inJsonArray(justifications.id, ids)),
  ]);
  return { status: outcome.status };
}

/**
 * An objection or unsubscribe takes effect for the chunks of an in-flight
 * send not yet handed to the provider: evidence recorded since the decision
 * is looked for (one query), and where a recipient is now suppressed, a new
 * justification supersedes the first and the first is cancelled. The first
 * decision itself is never changed.
 */
async function recheck(
  deps: Deps,
  tenant: TenantRow,
  topic: Topic,
  messageId: string,
  chunk: number,
): Promise<PendingRow[]> {
  // Only what delivery needs: not the trace, the largest part of a row.
  const pending = await deps.db
    .select({
      id: justifications.id,
      subjectKey: justifications.subjectKey,
      email: justifications.email,
      basis: justifications.basis,
      evidence: justifications.evidence,
      decidedAt: justifications.decidedAt,
    })
    .from(justifications)
    .where(
      and(
        eq(justifications.messageId, messageId),
        eq(justifications.chunk, chunk),
        eq(justifications.status, "pending"),
      ),
    );
  if (pending.length === 0) return pending;
  const decidedAt = Math.min(...pending.map((row) => row.decidedAt));
  const changed = await deps.db
    .selectDistinct({ subjectKey: evidence.subjectKey })
    .from(evidence)
    .where(
      and(
        eq(evidence.tenantId, tenant.id),
        gte(evidence.recordedAt, decidedAt),
        inJsonArray(
          evidence.subjectKey,
          pending.map((row) => row.subjectKey),
        ),
      ),
    );
  if (changed.length === 0) return pending;
  const changedKeys = new Set(changed.map((row) => row.subjectKey));
  const histories = await loadSubjectHistories(deps, tenant.id, [...changedKeys]);
  const now = deps.clock();
  const policy = policyOf(tenant);
  const superseding: JustificationDraft[] = [];
  const cancelled: string[] = [];
  for (const row of pending) {
    const history = histories.get(row.subjectKey);
    if (!changedKeys.has(row.subjectKey) || !history) continue;
    const decision = decide({
      addressValid: true,
      topic,
      facts: history.facts,
      evidence: history.evidence,
      tenant: policy,
      now,
    });
    if (decision.decision === "send") continue;
    superseding.push({
      ...draftFor(messageId, topic, row.subjectKey, row.email, decision, history, now),
      supersedes: row.id,
    });
    cancelled.push(row.id);
  }
  if (cancelled.length === 0) return pending;
  await appendJustifications(deps, tenant.id, superseding, [
    deps.db
      .update(justifications)
      .set({ status: "cancelled", statusAt: now })
      .where(inJsonArray(justifications.id, cancelled)),
  ]);
  const gone = new Set(cancelled);
  return pending.filter((row) => !gone.has(row.id));
}

async function setChunkStatus(
  deps: Deps,
  messageId: string,
  chunk: number,
  status: ChunkStatus,
  from?: ChunkStatus,
): Promise<boolean> {
  const updated = await deps.db
    .update(deliveryChunks)
    .set({ status, updatedAt: deps.clock() })
    .where(
      and(
        eq(deliveryChunks.messageId, messageId),
        eq(deliveryChunks.chunk, chunk),
        ...(from ? [eq(deliveryChunks.status, from)] : []),
      ),
    )
    .returning({ chunk: deliveryChunks.chunk });
  return updated.length > 0;
}

/**
 * The message's status from its chunks' outcomes: recorded, and answered. A chunk still queued,
 * being handed over or `unknown` (awaiting the provider's events) keeps it `sending`.
 */
export async function settleMessage(deps: Deps, messageId: string): Promise<MessageStatus> {
  const chunks = await deps.db
    .select({ status: deliveryChunks.status })
    .from(deliveryChunks)
    .where(eq(deliveryChunks.messageId, messageId));
  const message = await deps.db.query.messages.findFirst({
    columns: { status: true },
    where: eq(messages.id, messageId),
  });
  const current = message?.status ?? "sending";
  if (chunks.some((c) => c.status === "queued" || c.status === "handing" || c.status === "unknown"))
    return current;
  const status = messageStatusOf(
    current,
    chunks.map((c) => c.status),
  );
  if (status !== current) {
    await deps.db
      .update(messages)
      .set({ status, updatedAt: deps.clock() })
      .where(eq(messages.id, messageId));
  }
  return status;
}

/** A settled message's status: cancelled stays cancelled; else by how many chunks failed. */
function messageStatusOf(current: MessageStatus, chunks: readonly ChunkStatus[]): MessageStatus {
  if (current === "cancelled" || current === "sandbox") return current;
  const handed = chunks.filter((c) => c !== "cancelled");
  const failed = handed.filter((c) => c === "failed").length;
  if (failed === 0) return "sent";
  return failed === handed.length ? "failed" : "partially-failed";
}

/**
 * After a restart: a chunk caught `handing` may or may not have reached the
 * provider, so it becomes `unknown` (its rows too) and is never re-sent; the
 * chunks still `queued` are delivered.
 */
export async function recoverInterruptedSends(deps: Deps): Promise<string[]> {
  const interrupted = await deps.db
    .select({ messageId: deliveryChunks.messageId, chunk: deliveryChunks.chunk })
    .from(deliveryChunks)
    .where(eq(deliveryChunks.status, "handing"));
  const now = deps.clock();
  for (const { messageId, chunk } of interrupted) {
    await deps.db.batch([
      deps.db
        .update(deliveryChunks)
        .set({
          status: "unknown",
          error: "interrupted while handing to the provider",
          updatedAt: now,
        })
        .where(and(eq(deliveryChunks.messageId, messageId), eq(deliveryChunks.chunk, chunk))),
      deps.db
        .update(justifications)
        .set({
          status: "unknown",
          error: "interrupted while handing to the provider",
          statusAt: now,
        })
        .where(
          and(
            eq(justifications.messageId, messageId),
            eq(justifications.chunk, chunk),
            inArray(justifications.status, ["pending"]),
          ),
        ),
    ]);
  }
  const sending = await deps.db
    .select({ id: messages.id })
    .from(messages)
    .where(eq(messages.status, "sending"));
  return sending.map((m) => m.id);
}
