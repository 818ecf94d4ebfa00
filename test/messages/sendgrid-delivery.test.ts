import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSendGridProvider } from "../../src/adapters/sendgrid.js";
import { justifications, messages } from "../../src/db/schema.js";
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
  expect(res.status).toBe(200);
  return (await res.json()) as { messageId: string; status: string };
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

  it("a chunk that finally fails marks its rows failed, never sent", async () => {
    sendgrid.failNext(500, 3);
    const { messageId, status } = await send(1500);
    expect(status).toBe("partially-failed");
    const rows = await gw.deps.db
      .select()
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    const failed = rows.filter((r) => r.status === "failed");
    const accepted = rows.filter((r) => r.status === "accepted");
    expect(failed).toHaveLength(1000);
    expect(accepted).toHaveLength(500);
    expect(failed[0]?.error).toMatch(/^500/);
    const [message] = await gw.deps.db.select().from(messages).where(eq(messages.id, messageId));
    expect(message?.status).toBe("partially-failed");
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
    expect(((await res.json()) as { status: string }).status).toBe("sent");
    expect(sendgrid.requests[0]?.body.personalizations[0]?.to[0]?.name).toBe("Nováková Jana Ing.");
  });
});
