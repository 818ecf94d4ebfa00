import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSendGridProvider } from "../../src/adapters/sendgrid.js";
import { justifications, messages } from "../../src/db/schema.js";
import type { MessageState } from "../../src/services/messages/message-state.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type SendGridServer, startSendGridServer } from "../support/sendgrid-server.js";
import { consentsOf, seedEvidence } from "./seed.js";

/**
 * Delivery through the real `@sendgrid/mail` client to a local server that
 * behaves like SendGrid's v3 mail/send: chunks of at most 1,000
 * personalizations, each with its own headers and justification id; 429 and
 * 5xx retried; a chunk that finally fails marks its rows failed, never sent.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
let sendgrid: SendGridServer;
const waits: number[] = [];
const N = 2500;
const email = (i: number) => `reader${i}@deliver.example`;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
  sendgrid = await startSendGridServer();
  // The app holds this deps object: pointing its provider at the SendGrid
  // stand-in is what SENDGRID_API_KEY / SENDGRID_API_URL do at start.
  gw.deps.provider = createSendGridProvider({
    apiKey: sendgrid.apiKey,
    apiUrl: sendgrid.url,
    maxAttempts: 3,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  await seedEvidence(
    gw,
    tenantId,
    consentsOf(
      gw,
      Array.from({ length: N }, (_, i) => email(i)),
    ),
  );
}, 60_000);

afterAll(async () => {
  await sendgrid.close();
  await gw.stop();
});

beforeEach(() => {
  sendgrid.reset();
  waits.length = 0;
});

async function send(count: number) {
  const res = await gw.request("/v1/messages", {
    method: "POST",
    key,
    json: {
      topic: "tips",
      from: { email: "news@optika.example", name: "Optika" },
      subject: "Hello {{recipient.name}}",
      html: "<p>Hello {{recipient.name}}</p>",
      recipients: Array.from({ length: count }, (_, i) => ({
        email: email(i),
        name: `Reader ${i}`,
      })),
    },
  });
  // Answered once proven; the delivery worker hands the chunks over after.
  expect(res.status).toBe(202);
  const { messageId } = (await res.json()) as { messageId: string };
  await gw.idle();
  const state = await stateOf(messageId);
  return { messageId, status: state.status, state };
}

/** What `GET /v1/messages/{id}` says of a message. */
async function stateOf(messageId: string): Promise<MessageState> {
  const res = await gw.request(`/v1/messages/${messageId}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as MessageState;
}

describe("delivery through SendGrid", () => {
  it("sends chunks of at most 1,000 personalizations, each with its own headers and justification id", async () => {
    const { messageId, status } = await send(N);
    expect(status).toBe("sent");
    expect(sendgrid.requests.map((r) => r.body.personalizations.length)).toEqual([1000, 1000, 500]);
    const proven = new Map(
      (
        await gw.deps.db
          .select({
            id: justifications.id,
            email: justifications.email,
            status: justifications.status,
          })
          .from(justifications)
          .where(eq(justifications.messageId, messageId))
      ).map((r) => [r.id, r]),
    );
    const seen = new Set<string>();
    for (const request of sendgrid.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${sendgrid.apiKey}`);
      for (const p of request.body.personalizations) {
        const id = p.custom_args?.justification_id ?? "";
        const row = proven.get(id);
        expect(row?.email).toBe(p.to[0]?.email);
        expect(row?.status).toBe("accepted");
        seen.add(id);
        expect(p.headers?.["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
        expect(p.headers?.["List-Unsubscribe"]).toMatch(/\/u\/[A-Za-z0-9_-]+>, <mailto:/);
        // No personal data in custom_args.
        expect(JSON.stringify(p.custom_args)).not.toContain("@");
        expect(Object.keys(p.substitutions ?? {}).every((k) => k.startsWith("%%grounds:"))).toBe(
          true,
        );
      }
    }
    expect(seen.size).toBe(N);
  });

  it("retries 429 (as told by Retry-After) and 5xx, then delivers", async () => {
    sendgrid.failNext(429, 1, { retryAfter: 2 });
    sendgrid.failNext(503, 1);
    const { status } = await send(10);
    expect(status).toBe("sent");
    expect(sendgrid.requests).toHaveLength(1);
    expect(sendgrid.attempts).toHaveLength(3);
    expect(waits[0]).toBe(2000);
    expect(waits).toHaveLength(2);
  });

  it("a chunk the provider refuses with 5xx waits in the queue and goes when the outage ends", async () => {
    sendgrid.failNext(500, 3);
    const { messageId, status, state } = await send(1500);
    // Chunk 0 met the outage: queued again for later, its recipients still pending.
    expect(status).toBe("sending");
    expect(state.chunks).toMatchObject([
      {
        chunk: 0,
        status: "queued",
        recipients: 1000,
        attempts: 1,
        error: expect.stringMatching(/^500/),
      },
      { chunk: 1, status: "accepted", recipients: 500, attempts: 1 },
    ]);
    expect(Date.parse(state.chunks[0]?.nextAttemptAt ?? "")).toBeGreaterThan(gw.clock());
    expect(state.delivery).toEqual({ pending: 1000, accepted: 500 });
    // When its time comes, it goes: the message is sent, each recipient once.
    gw.clock.set(Date.parse(state.chunks[0]?.nextAttemptAt ?? ""));
    gw.deliveries.wake();
    await gw.idle();
    const after = await stateOf(messageId);
    expect(after.status).toBe("sent");
    expect(after.delivery).toEqual({ accepted: 1500 });
    expect(sendgrid.requests.map((r) => r.body.personalizations.length)).toEqual([500, 1000]);
    const [message] = await gw.deps.db.select().from(messages).where(eq(messages.id, messageId));
    expect(message?.status).toBe("sent");
    const rows = await gw.deps.db
      .select()
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    expect(rows.every((r) => r.status === "accepted")).toBe(true);
  });

  it("a 400 is final: not retried, summarised without addresses", async () => {
    sendgrid.failNext(400, 1);
    const { messageId, status } = await send(3);
    expect(status).toBe("failed");
    expect(sendgrid.attempts).toHaveLength(1);
    const rows = await gw.deps.db
      .select()
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    for (const row of rows) {
      expect(row.status).toBe("failed");
      expect(row.error ?? "").not.toContain("@");
    }
  });

  it("a name with a comma (which SendGrid refuses) does not cost the chunk", async () => {
    const res = await gw.request("/v1/messages", {
      method: "POST",
      key,
      json: {
        topic: "tips",
        from: { email: "news@optika.example" },
        subject: "Hello",
        text: "Hello.",
        recipients: [{ email: email(0), name: "Nováková, Jana; Ing." }, { email: email(1) }],
      },
    });
    await gw.idle();
    expect((await stateOf(((await res.json()) as { messageId: string }).messageId)).status).toBe(
      "sent",
    );
    expect(sendgrid.requests[0]?.body.personalizations[0]?.to[0]?.name).toBe("Nováková Jana Ing.");
  });
});
