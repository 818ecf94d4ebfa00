import { and, eq, inArray } from "drizzle-orm";
import { deliveryChunks, justifications, messages } from "../../db/schema.js";
import { newId } from "../../domain/ids.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { appendJustifications, type JustificationDraft } from "../proofs/append-justifications.js";
import { inJsonArray } from "../subject-facts.js";
import type { TenantRow } from "../tenant.js";
import { settleMessage } from "./deliver-message.js";
import { type MessageState, messageState } from "./message-state.js";

/**
 * Cancels what of a message has not been handed to the provider (docs/design.md §5
 * `DELETE /v1/messages/{id}`). A scheduled message is never decided. Of a
 * message being sent, every chunk still queued is claimed `queued →
 * cancelled` (one conditional update, so a worker that claimed it first sends
 * it, and this leaves it); each of its recipients gets a superseding
 * justification — decided `suppress`, reason `cancelled` — and the first is
 * marked `cancelled`, so the proof log says why they were not mailed.
 * Refused (`message-not-cancellable`) when nothing is left to cancel.
 */
export async function cancelMessage(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
): Promise<MessageState> {
  const message = await deps.db.query.messages.findFirst({
    columns: { status: true, topic: true },
    where: and(eq(messages.id, messageId), eq(messages.tenantId, tenant.id)),
  });
  if (!message) throw new ProblemError("not-found");
  const now = deps.clock();
  let cancelled = false;
  if (message.status === "scheduled") {
    const claimed = await deps.db
      .update(messages)
      .set({ status: "cancelled", updatedAt: now })
      .where(and(eq(messages.id, messageId), eq(messages.status, "scheduled")))
      .returning({ id: messages.id });
    cancelled = claimed.length > 0;
  } else if (message.status === "sending") {
    const chunks = await deps.db
      .update(deliveryChunks)
      .set({ status: "cancelled", error: "cancelled by the sender", updatedAt: now })
      .where(and(eq(deliveryChunks.messageId, messageId), eq(deliveryChunks.status, "queued")))
      .returning({ chunk: deliveryChunks.chunk });
    if (chunks.length > 0) {
      cancelled = true;
      await supersede(
        deps,
        tenant,
        messageId,
        chunks.map((c) => c.chunk),
        now,
      );
      await deps.db
        .update(messages)
        .set({ status: "cancelled", updatedAt: now })
        .where(eq(messages.id, messageId));
      await settleMessage(deps, messageId);
    }
  }
  if (!cancelled) {
    throw new ProblemError("message-not-cancellable", {
      detail: "Every part of this message has been handed to the provider, or it was cancelled.",
    });
  }
  const state = await messageState(deps, tenant.id, messageId);
  if (!state) throw new ProblemError("not-found");
  return state;
}

/** The superseding justifications of the cancelled chunks' recipients, written in one batch. */
async function supersede(
  deps: Deps,
  tenant: TenantRow,
  messageId: string,
  chunks: number[],
  now: number,
): Promise<void> {
  const rows = await deps.db
    .select({
      id: justifications.id,
      subjectKey: justifications.subjectKey,
      topic: justifications.topic,
      ruleSet: justifications.ruleSet,
      email: justifications.email,
    })
    .from(justifications)
    .where(
      and(
        eq(justifications.messageId, messageId),
        inArray(justifications.chunk, chunks),
        eq(justifications.status, "pending"),
      ),
    );
  if (rows.length === 0) return;
  const drafts: JustificationDraft[] = rows.map((row) => ({
    id: newId("jus", now),
    messageId,
    subjectKey: row.subjectKey,
    topic: row.topic,
    decision: "suppress",
    basis: null,
    reasons: ["cancelled"],
    ruleSet: row.ruleSet,
    evidence: [],
    trace: [
      {
        rule: "cancelled",
        outcome: "decided",
        detail: "the sender cancelled the message before it was handed to the provider",
        ruleSet: row.ruleSet,
      },
    ],
    decidedAt: now,
    supersedes: row.id,
    email: row.email,
    chunk: null,
    status: "suppressed",
    providerMessageId: null,
    error: null,
    statusAt: now,
  }));
  await appendJustifications(deps, tenant.id, drafts, [
    deps.db
      .update(justifications)
      .set({ status: "cancelled", statusAt: now })
      .where(
        inJsonArray(
          justifications.id,
          rows.map((row) => row.id),
        ),
      ),
  ]);
}
