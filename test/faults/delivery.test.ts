import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSendGridProvider } from "../../src/adapters/sendgrid.js";
import { deliveryChunks, idempotencyKeys, justifications } from "../../src/db/schema.js";
import { RETRY_WINDOW_MS, UNKNOWN_QUIET_MS } from "../../src/domain/delivery-schedule.js";
import type { MessageState } from "../../src/services/messages/message-state.js";
import { consentsOf, seedEvidence } from "../messages/seed.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type SendGridServer, startSendGridServer } from "../support/sendgrid-server.js";
import { patchSettings, postWebhook, type WebhookKeys, webhookKeys } from "../webhooks/helpers.js";

/**
 * Provider faults, each as SendGrid shows it (test/support/sendgrid-server.ts modes), against the
 * real `@sendgrid/mail` client and the durable delivery queue (docs/design.md §7, issue #16):
 * - an answer lost after SendGrid took the mail (reset, or an answer past the timeout) is
 *   `unknown`, never resent blindly, and settled from SendGrid's events;
 * - a server that takes nothing and never answers is `unknown` too, and goes again only after
 *   the quiet period with no event, once events are seen arriving;
 * - an outage (500, 429 + Retry-After) is retried with backoff for 6 hours, then `failed`.
 * The clock is the test's: hours pass by moving it and waking the worker.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
let sendgrid: SendGridServer;
let keys: WebhookKeys;
const email = (i: number) => `fault${i}@faults.example`;
const N = 2000;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
  sendgrid = await startSendGridServer();
  gw.deps.provider = createSendGridProvider({
    apiKey: sendgrid.apiKey,
    apiUrl: sendgrid.url,
    timeoutMs: 300,
    // One try per hand-over: the queue's backoff is what is tested here.
    maxAttempts: 1,
  });
  keys = await webhookKeys();
  await patchSettings(gw, key, { sendgrid: { webhookPublicKey: keys.publicKey } });
  await seedEvidence(
    gw,
    tenantId,
    consentsOf(
      gw,
      Array.from({ length: N }, (_, i) => email(i)),
    ),
  );
  gw.clock.advance(1000);
}, 60_000);

afterAll(async () => {
  await sendgrid.close();
  await gw.stop();
});

beforeEach(() => {
  sendgrid.reset();
});

async function send(count: number, headers: Record<string, string> = {}): Promise<string> {
  const res = await gw.request("/v1/messages", {
    method: "POST",
    key,
    headers,
    json: {
      topic: "tips",
      from: { email: "news@optika.example" },
      subject: "Hello",
      text: "Hello.",
      recipients: Array.from({ length: count }, (_, i) => ({ email: email(i) })),
    },
  });
  expect(res.status).toBe(202);
  const { messageId } = (await res.json()) as { messageId: string };
  await gw.idle();
  return messageId;
}

async function stateOf(messageId: string): Promise<MessageState> {
  const res = await gw.request(`/v1/messages/${messageId}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as MessageState;
}

/** Moves the clock and lets the worker do what has come due. */
async function timePasses(ms: number): Promise<void> {
  gw.clock.advance(ms);
  gw.deliveries.wake();
  await gw.idle();
}

/** A SendGrid event for a justification, as the Event Webhook posts it. */
function event(kind: string, justificationId: string, n: number) {
  return {
    event: kind,
    email: "someone@faults.example",
    timestamp: Math.floor(gw.clock() / 1000),
    sg_event_id: `${kind}-${justificationId}-${n}`,
    sg_message_id: "sg.1",
    justification_id: justificationId,
  };
}

async function handedIds(messageId: string, chunk: number): Promise<string[]> {
  const rows = await gw.deps.db
    .select({ id: justifications.id, chunk: justifications.chunk })
    .from(justifications)
    .where(eq(justifications.messageId, messageId));
  return rows.filter((r) => r.chunk === chunk).map((r) => r.id);
}

describe("an answer lost after SendGrid took the mail", () => {
  it("reset after accept: the chunk is unknown, never resent, and SendGrid's events settle it", async () => {
    sendgrid.setMode({ mode: "reset-after-accept" });
    const messageId = await send(10);
    expect(sendgrid.requests).toHaveLength(1);
    let state = await stateOf(messageId);
    expect(state.chunks).toMatchObject([{ status: "unknown", attempts: 1 }]);
    expect(state.delivery).toEqual({ unknown: 10 });
    expect(state.status).toBe("sending");

    // Long past the quiet period, but no event has come for the tenant: nothing proves the
    // webhook would have told, so it is not sent again.
    sendgrid.setMode({ mode: "ok" });
    await timePasses(UNKNOWN_QUIET_MS * 2);
    expect(sendgrid.requests).toHaveLength(1);

    // SendGrid's `processed` for one recipient proves it took the request: all of it.
    const [first] = await handedIds(messageId, 0);
    const res = await postWebhook(gw, tenantId, keys, [event("processed", first ?? "", 1)]);
    expect(res.status).toBe(200);
    await timePasses(1000);
    state = await stateOf(messageId);
    expect(state.chunks).toMatchObject([{ status: "accepted" }]);
    expect(state.delivery).toEqual({ accepted: 10 });
    expect(state.status).toBe("sent");
    expect(sendgrid.requests).toHaveLength(1);
  });

  it("an answer after the client's timeout (slow accept) is unknown, and not sent twice", async () => {
    sendgrid.setMode({ mode: "slow-accept", delayMs: 2000 });
    const messageId = await send(5);
    expect(sendgrid.requests).toHaveLength(1);
    expect((await stateOf(messageId)).chunks).toMatchObject([{ status: "unknown" }]);
    const [id] = await handedIds(messageId, 0);
    await postWebhook(gw, tenantId, keys, [event("delivered", id ?? "", 2)]);
    await timePasses(1000);
    expect((await stateOf(messageId)).status).toBe("sent");
    expect(sendgrid.requests).toHaveLength(1);
  });
});

describe("a server that takes nothing and never answers", () => {
  it("is unknown; with no event for the chunk after the quiet period, it goes once more", async () => {
    sendgrid.setMode({ mode: "hang" });
    const messageId = await send(5);
    expect(sendgrid.attempts).toHaveLength(1);
    expect(sendgrid.requests).toHaveLength(0);
    expect((await stateOf(messageId)).chunks).toMatchObject([{ status: "unknown" }]);
    sendgrid.setMode({ mode: "ok" });

    // Not before the quiet period ends, events arriving or not.
    const other = await send(1);
    const [otherId] = await handedIds(other, 0);
    await postWebhook(gw, tenantId, keys, [event("delivered", otherId ?? "", 3)]);
    await timePasses(UNKNOWN_QUIET_MS / 2);
    expect(sendgrid.requests.filter((r) => r.body.personalizations.length === 5)).toHaveLength(0);

    await timePasses(UNKNOWN_QUIET_MS);
    const state = await stateOf(messageId);
    expect(state.chunks).toMatchObject([{ status: "accepted", attempts: 2 }]);
    expect(state.status).toBe("sent");
    expect(sendgrid.requests.filter((r) => r.body.personalizations.length === 5)).toHaveLength(1);
  });
});

describe("an outage", () => {
  it("is retried with backoff for at least 6 hours, then the chunk is failed, nothing sent", async () => {
    sendgrid.setMode({ mode: "500" });
    const started = gw.clock();
    const messageId = await send(10);
    let state = await stateOf(messageId);
    expect(state.chunks.map((c) => c.status)).toEqual(["queued"]);
    expect(state.delivery).toEqual({ pending: 10 });
    const waits: number[] = [];
    for (let i = 0; i < 100 && state.status === "sending"; i++) {
      const next = Math.max(...state.chunks.map((c) => Date.parse(c.nextAttemptAt ?? "0")));
      waits.push(next - gw.clock());
      await timePasses(Math.max(0, next - gw.clock()));
      state = await stateOf(messageId);
    }
    expect(state.status).toBe("failed");
    expect(gw.clock() - started).toBeGreaterThanOrEqual(RETRY_WINDOW_MS);
    expect(state.chunks.every((c) => c.status === "failed" && c.attempts > 5)).toBe(true);
    expect(state.chunks[0]?.error).toMatch(/^500/);
    expect(state.delivery).toEqual({ failed: 10 });
    // Backoff: the waits grow (up to the cap), not a fixed tight loop.
    expect(Math.max(...waits)).toBeGreaterThan(10 * 60_000);
    expect(sendgrid.requests).toHaveLength(0);
  });

  it("that ends within the window delivers every recipient once", async () => {
    sendgrid.setMode({ mode: "429", retryAfter: 600 });
    const messageId = await send(1500);
    const state = await stateOf(messageId);
    // Never sooner than the Retry-After SendGrid gave.
    for (const chunk of state.chunks) {
      expect(Date.parse(chunk.nextAttemptAt ?? "0") - gw.clock()).toBeGreaterThanOrEqual(600_000);
    }
    await timePasses(2 * 60 * 60_000);
    expect((await stateOf(messageId)).status).toBe("sending");
    sendgrid.setMode({ mode: "ok" });
    await timePasses(60 * 60_000);
    expect((await stateOf(messageId)).status).toBe("sent");
    const to = sendgrid.requests.flatMap((r) => r.body.personalizations.map((p) => p.to[0]?.email));
    expect(to).toHaveLength(1500);
    expect(new Set(to).size).toBe(1500);
  });
});

describe("cancelling", () => {
  it("cancels the chunks not handed over, each recipient superseded, and sends none of them", async () => {
    sendgrid.setMode({ mode: "500" });
    const messageId = await send(N);
    const res = await gw.request(`/v1/messages/${messageId}`, { method: "DELETE", key });
    expect(res.status).toBe(200);
    const state = (await res.json()) as MessageState;
    expect(state.status).toBe("cancelled");
    expect(state.chunks.map((c) => c.status)).toEqual(["cancelled", "cancelled"]);
    expect(state.delivery).toEqual({ cancelled: N });
    const rows = await gw.deps.db
      .select()
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    const superseding = rows.filter((r) => r.supersedes !== null);
    expect(superseding).toHaveLength(N);
    expect(superseding[0]).toMatchObject({
      decision: "suppress",
      reasons: ["cancelled"],
      status: "suppressed",
    });
    sendgrid.setMode({ mode: "ok" });
    await timePasses(RETRY_WINDOW_MS);
    expect(sendgrid.requests).toHaveLength(0);
    const again = await gw.request(`/v1/messages/${messageId}`, { method: "DELETE", key });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { type: string }).type).toBe(
      "/problems/message-not-cancellable",
    );
  });

  it("answers 404 for a message of no one's or another tenant's", async () => {
    const res = await gw.request("/v1/messages/msg_0000", { key });
    expect(res.status).toBe(404);
  });
});

describe("a send retried after a crash", () => {
  it("answers the message's state for its Idempotency-Key, not 409", async () => {
    const messageId = await send(3, { "idempotency-key": "crash-retry" });
    // What a crash after the proof and before the answer was stored leaves: a key in progress.
    await gw.deps.db
      .update(idempotencyKeys)
      .set({ status: null, body: null, contentType: null })
      .where(eq(idempotencyKeys.key, "crash-retry"));
    const res = await gw.request("/v1/messages", {
      method: "POST",
      key,
      headers: { "idempotency-key": "crash-retry" },
      json: {
        topic: "tips",
        from: { email: "news@optika.example" },
        subject: "Hello",
        text: "Hello.",
        recipients: Array.from({ length: 3 }, (_, i) => ({ email: email(i) })),
      },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    const state = (await res.json()) as MessageState;
    expect(state.messageId).toBe(messageId);
    const chunks = await gw.deps.db
      .select()
      .from(deliveryChunks)
      .where(eq(deliveryChunks.messageId, messageId));
    expect(chunks).toHaveLength(1);
  });
});
