import type { BatchItem } from "drizzle-orm/batch";
import { deliveryChunks, messages } from "../../db/schema.js";
import { newId } from "../../domain/ids.js";
import { ProblemError } from "../../problems.js";
import { MAX_PERSONALIZATIONS } from "../delivery/provider.js";
import type { Deps } from "../deps.js";
import { appendJustifications, type JustificationDraft } from "../proofs/append-justifications.js";
import type { TenantRow } from "../tenant.js";
import { findTopic } from "../topics.js";
import { type Composition, composeFor, type SendRequest } from "./compose.js";
import { decideRecipients, type RecipientDecision, uniqueRecipients } from "./decide-recipients.js";
import { deliverOrEnqueue } from "./deliver-message.js";

export interface SendResult {
  messageId: string | null;
  status: "dry-run" | (typeof messages.$inferSelect)["status"];
  sendAt?: string;
  counts: { send: number; suppress: number };
  results: {
    email: string;
    decision: "send" | "suppress";
    basis: string | null;
    reasons: string[];
    justificationId: string | null;
  }[];
}

/**
 * Sends one message to many recipients (docs/design.md §3–§6): refuses what cannot be
 * made compliant before anything is written; decides for every recipient;
 * writes every justification — sent or suppressed — in one transaction before
 * anything is handed to the provider; then delivers in chunks.
 */
export async function sendMessage(
  deps: Deps,
  tenant: TenantRow,
  request: SendRequest,
  options: { idempotencyKey?: string | undefined } = {},
): Promise<SendResult> {
  const idempotencyKey = options.idempotencyKey ?? null;
  const topic = await findTopic(deps, tenant.id, request.topic);
  if (!topic) {
    throw new ProblemError("unknown-topic", {
      detail: `Topic "${request.topic}" is not defined for this tenant.`,
      errors: [{ pointer: "/topic", detail: "unknown topic" }],
    });
  }
  const recipients = uniqueRecipients(request.recipients);
  const deduplicated: SendRequest = { ...request, recipients };
  // Composed once, here: refuses header injection, an unverified From domain,
  // a missing sender identity or missing content before anything is decided
  // or written; delivery personalises from this composition (stored below).
  const composition = composeFor(tenant, topic, deduplicated);
  const now = deps.clock();
  const messageId = newId("msg", now);

  // A sandbox send is decided and proven at once, as SendGrid's sandbox answers at once.
  if (request.sendAt !== undefined && request.sendAt > now && !request.dryRun && !request.sandbox) {
    await deps.db.insert(messages).values({
      id: messageId,
      tenantId: tenant.id,
      topic: topic.id,
      status: "scheduled",
      request: deduplicated,
      composition,
      idempotencyKey,
      sendAt: request.sendAt,
      recipients: recipients.length,
      createdAt: now,
      updatedAt: now,
    });
    return {
      messageId,
      status: "scheduled",
      sendAt: new Date(request.sendAt).toISOString(),
      counts: { send: 0, suppress: 0 },
      results: [],
    };
  }

  const decided = await decideRecipients(deps, tenant, topic, messageId, recipients);
  if (request.dryRun) return summarise(null, "dry-run", decided, false);
  const chunkCount = await proveMessage(deps, tenant, topic.id, messageId, {
    request: deduplicated,
    composition,
    decided,
    idempotencyKey,
  });
  if (request.sandbox) return summarise(messageId, "sandbox", decided, true);
  // Queued (Workers, more than one chunk): the answer is `sending`, and the queue delivers.
  const status = await deliverOrEnqueue(deps, tenant, messageId, chunkCount);
  return summarise(messageId, status, decided, true);
}

/** What a proven send is made of: the request, its one composition, every recipient's decision. */
export interface ProvenSend {
  request: SendRequest;
  composition: Composition;
  decided: readonly RecipientDecision[];
  /** The request's `Idempotency-Key`: a retry after a crash finds the message by it. */
  idempotencyKey?: string | null;
}

/**
 * Writes the message, every recipient's justification (chained) and the
 * delivery chunks in ONE write transaction: either all the proof exists, or
 * nothing does and nothing is sent. Answers the number of delivery chunks.
 */
export async function proveMessage(
  deps: Deps,
  tenant: TenantRow,
  topicId: string,
  messageId: string,
  { request, composition, decided, idempotencyKey = null }: ProvenSend,
): Promise<number> {
  const now = deps.clock();
  let sendIndex = 0;
  const sandbox = request.sandbox === true;
  const drafts = decided.map(({ draft }): JustificationDraft => {
    if (draft.decision !== "send") return draft;
    // Sandbox mode: the decision is proven like any other, and no chunk is
    // made, so nothing can ever hand it to the provider.
    if (sandbox) return { ...draft, status: "sandbox" };
    const chunk = Math.floor(sendIndex / MAX_PERSONALIZATIONS);
    sendIndex += 1;
    return { ...draft, chunk };
  });
  const chunkCount = Math.ceil(sendIndex / MAX_PERSONALIZATIONS);
  const sendCount = drafts.filter((draft) => draft.decision === "send").length;
  const counts = {
    recipients: decided.length,
    sendCount,
    suppressCount: decided.length - sendCount,
  };
  const alongside: BatchItem<"sqlite">[] = [
    // A scheduled message exists already; it becomes this send.
    deps.db
      .insert(messages)
      .values({
        id: messageId,
        tenantId: tenant.id,
        topic: topicId,
        status: sandbox ? "sandbox" : "sending",
        request,
        composition,
        idempotencyKey,
        sendAt: null,
        ...counts,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: messages.id,
        set: { status: sandbox ? "sandbox" : "sending", composition, ...counts, updatedAt: now },
      }),
  ];
  if (chunkCount > 0) {
    alongside.push(
      deps.db.insert(deliveryChunks).values(
        Array.from({ length: chunkCount }, (_, chunk) => ({
          messageId,
          chunk,
          status: "queued" as const,
          recipients: Math.min(MAX_PERSONALIZATIONS, sendIndex - chunk * MAX_PERSONALIZATIONS),
          updatedAt: now,
        })),
      ),
    );
  }
  // Chained in delivery order: the rows of one chunk lie together in the
  // table, so recording a chunk's outcome rewrites its own pages rather than
  // a page for nearly every row. The answer keeps the request's order.
  await appendJustifications(deps, tenant.id, inDeliveryOrder(drafts), alongside);
  return chunkCount;
}

/** The sent recipients first, chunk by chunk, then the suppressed, each in the request's order. */
function inDeliveryOrder(drafts: readonly JustificationDraft[]): JustificationDraft[] {
  return [
    ...drafts.filter((draft) => draft.chunk !== null),
    ...drafts.filter((draft) => draft.chunk === null),
  ];
}

function summarise(
  messageId: string | null,
  status: SendResult["status"],
  decided: readonly RecipientDecision[],
  proven: boolean,
): SendResult {
  let send = 0;
  const results = decided.map(({ recipient, decision, draft }) => {
    if (decision.decision === "send") send += 1;
    return {
      email: recipient.email.trim(),
      decision: decision.decision,
      basis: decision.basis,
      reasons: decision.reasons,
      justificationId: proven ? draft.id : null,
    };
  });
  return { messageId, status, counts: { send, suppress: decided.length - send }, results };
}
