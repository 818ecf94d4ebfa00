import { and, eq, gte, inArray } from "drizzle-orm";
import { deliveryChunks, evidence, justifications, messages } from "../../db/schema.js";
import { normaliseAddress } from "../../domain/address.js";
import { decide } from "../../domain/decision/decide.js";
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
 * Hands a proven message to the provider, chunk by chunk. Every chunk is
 * marked `handing` before the provider call and its outcome recorded after;
 * after a crash a `handing` chunk becomes `unknown` and is never sent again,
 * so a message is never delivered twice, nor without its justification.
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
  // The tenant's own provider key, if it has one: read once per message.
  const apiKey = chunks.length > 0 ? await tenantSendGridKey(deps, tenant.id) : null;
  for (const { chunk } of chunks) {
    await deliverChunk(deps, tenant, messageId, chunk, prepared, apiKey);
  }
  return settleMessage(deps, messageId);
}

/**
 * Delivers one chunk of a proven message: a queue consumer's unit of work (Workers). Safe to call
 * again for the same chunk — a redelivered queue message — since the chunk is claimed
 * `queued → handing` in one conditional update and only the claimant sends. The caller settles
 * the message (`settleMessage`).
 */
export async function deliverChunkOf(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
  chunk: number,
): Promise<void> {
  const prepared = await prepareDelivery(deps, tenant, messageId);
  if (!prepared) return;
  const apiKey = await tenantSendGridKey(deps, tenant.id);
  await deliverChunk(deps, tenant, messageId, chunk, prepared, apiKey);
}

/**
 * After a send is proven (`proveMessage`, which answers the chunk count): a send of more than
 * one chunk goes to the queue when there is one (`deps.enqueueChunks`, Workers), so a request
 * never hands thousands of recipients over in its own CPU time; otherwise it is delivered here.
 * Answers the message's status: `sending` while the queue delivers.
 */
export async function deliverOrEnqueue(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
  chunkCount: number,
): Promise<MessageStatus> {
  if (deps.enqueueChunks && chunkCount > 1) {
    await deps.enqueueChunks(
      tenant.id,
      messageId,
      Array.from({ length: chunkCount }, (_, chunk) => chunk),
    );
    return "sending";
  }
  return (await deliverMessage(deps, tenant, messageId)) ?? "sending";
}

type MessageStatus = (typeof messages.$inferSelect)["status"];

interface PreparedDelivery {
  topic: Topic;
  personalize: (input: PersonalizeInput) => Personalization;
  mail: Omit<OutgoingMail, "personalizations">;
  recipientsByAddress: Map<string, Recipient>;
}

/** What every chunk of a message is built from: read and composed once per message. */
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
  { topic, personalize, mail: shared, recipientsByAddress }: PreparedDelivery,
  apiKey: string | null,
): Promise<void> {
  const pending = await recheck(deps, tenant, topic, messageId, chunk);
  const claimed = await setChunkStatus(deps, messageId, chunk, "handing", "queued");
  if (!claimed) return;
  if (pending.length === 0) {
    await setChunkStatus(deps, messageId, chunk, "accepted");
    return;
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
      .where(and(eq(deliveryChunks.messageId, messageId), eq(deliveryChunks.chunk, chunk))),
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

/** The message's status from its chunks' outcomes: recorded, and answered. */
export async function settleMessage(deps: Deps, messageId: string): Promise<MessageStatus> {
  const chunks = await deps.db
    .select({ status: deliveryChunks.status })
    .from(deliveryChunks)
    .where(eq(deliveryChunks.messageId, messageId));
  if (chunks.some((c) => c.status === "queued" || c.status === "handing")) return "sending";
  const failed = chunks.filter((c) => c.status === "failed" || c.status === "unknown").length;
  const status = failed === 0 ? "sent" : failed === chunks.length ? "failed" : "partially-failed";
  await deps.db
    .update(messages)
    .set({ status, updatedAt: deps.clock() })
    .where(eq(messages.id, messageId));
  return status;
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
