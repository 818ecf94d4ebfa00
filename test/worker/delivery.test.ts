import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { deliveryChunks, justifications, messages } from "../../src/db/schema.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { consentBody } from "../http/helpers.js";
import { consentData, seedEvidence } from "../messages/seed.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, OPERATOR_TOKEN, SECRET } from "../support/gateway.js";
import { type SendGridServer, startSendGridServer } from "../support/sendgrid-server.js";
import { startTestWorker, type TestWorker } from "../support/worker.js";

/**
 * Delivery from inside workerd: the Worker's fetch-based SendGrid provider reaches the
 * SendGrid-like server this Node process runs on 127.0.0.1 (SENDGRID_API_URL), with the
 * installation's key (SENDGRID_API_KEY). A send of more than one chunk goes through the Worker's
 * delivery queue (miniflare runs it locally) and its consumer in the same Worker.
 */

let dir: string;
let worker: TestWorker;
let sendgrid: SendGridServer;
let adminKey: string;
let tenantId: string;
/** The Node gateway on the Worker's database file: seeds evidence and reads what was stored. */
let node: Awaited<ReturnType<typeof createNodeGateway>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-worker-delivery-"));
  sendgrid = await startSendGridServer();
  worker = await startTestWorker({
    dbPath: join(dir, "grounds.db"),
    vars: { SENDGRID_API_KEY: sendgrid.apiKey, SENDGRID_API_URL: sendgrid.url },
  });
  ({ key: adminKey, tenantId } = await createTenantWithTopics(worker));
  node = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${join(dir, "grounds.db")}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    }),
  );
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  node?.close();
  await sendgrid?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  sendgrid.reset();
});

const monthAgo = () => new Date(Date.now() - 30 * 86_400_000).toISOString();
const CZ_INDIVIDUAL = { subject: { country: "CZ", subscriberType: "individual" } };

async function consent(email: string) {
  const res = await worker.request("/v1/consents", {
    method: "POST",
    key: adminKey,
    json: consentBody(email, ["tips"], monthAgo(), CZ_INDIVIDUAL),
  });
  expect(res.status, await res.text()).toBe(201);
}

function sendBody(emails: string[]) {
  return {
    topic: "tips",
    from: { email: "news@optika.example", name: "Optika" },
    subject: "Hello {{recipient.name}}",
    html: "<p>Hello {{recipient.name}}</p>",
    recipients: emails.map((email, i) => ({ email, name: `Reader ${i}` })),
  };
}

/** The message's status once the queue has handed over every due chunk (`GET /v1/messages/{id}`). */
async function settledStatus(messageId: string): Promise<string> {
  await deliveriesDone(worker);
  // The consumer settles the message just after its last chunk's outcome is recorded.
  for (let i = 0; ; i++) {
    const res = await worker.request(`/v1/messages/${messageId}`, { key: adminKey });
    expect(res.status).toBe(200);
    const { status } = (await res.json()) as { status: string };
    if (status !== "sending" || i >= 100) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("delivery from the Worker", () => {
  it("hands a send to SendGrid with plain fetch: allowed recipients only, each with its own headers", async () => {
    const allowed = ["ada@customers.example", "bo@customers.example"];
    for (const email of allowed) await consent(email);
    const res = await worker.request("/v1/messages", {
      method: "POST",
      key: adminKey,
      json: sendBody([...allowed, "stranger@customers.example"]),
    });
    const text = await res.text();
    // Answered once proven; the Worker's queue consumer hands it over after.
    expect(res.status, text).toBe(202);
    const body = JSON.parse(text) as {
      messageId: string;
      status: string;
      counts: { send: number; suppress: number };
    };
    expect(body.status).toBe("sending");
    expect(body.counts).toEqual({ send: 2, suppress: 1 });
    expect(await settledStatus(body.messageId)).toBe("sent");

    expect(sendgrid.requests).toHaveLength(1);
    const [request] = sendgrid.requests;
    expect(request?.headers.authorization).toBe(`Bearer ${sendgrid.apiKey}`);
    const to = request?.body.personalizations.map((p) => p.to[0]?.email).sort();
    expect(to).toEqual(allowed);
    for (const p of request?.body.personalizations ?? []) {
      expect(p.headers?.["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
      expect(p.custom_args?.justification_id).toEqual(expect.any(String));
    }
  });

  it("records a provider refusal as failed, never sent, without an address in the error", async () => {
    await consent("cy@customers.example");
    sendgrid.failNext(400, 1);
    const res = await worker.request("/v1/messages", {
      method: "POST",
      key: adminKey,
      json: sendBody(["cy@customers.example"]),
    });
    const text = await res.text();
    expect(res.status, text).toBe(202);
    expect(await settledStatus((JSON.parse(text) as { messageId: string }).messageId)).toBe(
      "failed",
    );
    expect(sendgrid.attempts).toHaveLength(1); // a 400 is final
    expect(sendgrid.requests).toHaveLength(0);
  });

  it("sends 2,500 recipients through the queue: each allowed one exactly once, chunk by chunk", async () => {
    const N = 2500;
    const email = (i: number) => `queued${i}@bulk.example`;
    // Every 25th recipient has no consent: 100 suppressed, 2,400 sent in chunks of 1,000.
    const allowed = (i: number) => i % 25 !== 0;
    const indices = Array.from({ length: N }, (_, i) => i);
    await seedEvidence({ deps: node.deps, clock: Date.now }, tenantId, [
      ...indices.filter(allowed).map((i) => ({
        email: email(i),
        kind: "consent-granted" as const,
        topic: "tips",
        at: Date.now() - 30 * 86_400_000,
        data: consentData,
      })),
    ]);

    const started = performance.now();
    const res = await worker.request("/v1/messages", {
      method: "POST",
      key: adminKey,
      json: sendBody(indices.map(email)),
    });
    const text = await res.text();
    expect(res.status, text).toBe(202);
    const sent = JSON.parse(text) as {
      messageId: string;
      status: string;
      counts: { send: number; suppress: number };
    };
    // Proven in the request, delivered by the queue's consumer.
    expect(sent.status).toBe("sending");
    expect(sent.counts).toEqual({ send: 2400, suppress: 100 });
    const answeredInMs = performance.now() - started;

    // Poll (bounded) until the last chunk's consumer settled the message.
    const deadline = Date.now() + 60_000;
    let status = "sending";
    while (Date.now() < deadline) {
      const row = await node.deps.db.query.messages.findFirst({
        where: eq(messages.id, sent.messageId),
      });
      status = row?.status ?? "missing";
      if (status !== "sending") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const deliveredInMs = performance.now() - started;
    console.info(
      `2,500 recipients via the queue: answered in ${Math.round(answeredInMs)} ms, ` +
        `all chunks accepted in ${Math.round(deliveredInMs)} ms`,
    );
    expect(status).toBe("sent");

    const chunks = await node.deps.db
      .select()
      .from(deliveryChunks)
      .where(eq(deliveryChunks.messageId, sent.messageId));
    expect(chunks.map((c) => c.status)).toEqual(["accepted", "accepted", "accepted"]);
    expect(sendgrid.requests.map((r) => r.body.personalizations.length).sort()).toEqual([
      1000, 1000, 400,
    ]);
    const received = sendgrid.requests.flatMap((r) =>
      r.body.personalizations.map((p) => p.to[0]?.email),
    );
    expect(received).toHaveLength(2400);
    expect(new Set(received)).toEqual(new Set(indices.filter(allowed).map(email)));

    const rows = await node.deps.db
      .select({ status: justifications.status })
      .from(justifications)
      .where(eq(justifications.messageId, sent.messageId));
    expect(rows.filter((r) => r.status === "accepted")).toHaveLength(2400);
  }, 120_000);

  it("sends a scheduled message from the Cron Trigger, and runs retention from the daily one", async () => {
    await consent("dee@customers.example");
    const res = await worker.request("/v1/messages", {
      method: "POST",
      key: adminKey,
      json: {
        ...sendBody(["dee@customers.example"]),
        sendAt: new Date(Date.now() + 1000).toISOString(),
      },
    });
    const text = await res.text();
    expect(res.status, text).toBe(202);
    const { messageId, status } = JSON.parse(text) as { messageId: string; status: string };
    expect(status).toBe("scheduled");
    await new Promise((r) => setTimeout(r, 1100));
    expect(sendgrid.requests).toHaveLength(0);

    // What Cloudflare does every minute (wrangler.toml [triggers]); miniflare's local endpoint.
    const everyMinute = await worker.fetch(
      `/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`,
    );
    expect(everyMinute.status, await everyMinute.text()).toBe(200);
    expect(await settledStatus(messageId)).toBe("sent");
    expect(sendgrid.requests.map((r) => r.body.personalizations[0]?.to[0]?.email)).toEqual([
      "dee@customers.example",
    ]);

    const daily = await worker.fetch(
      `/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("17 3 * * *")}`,
    );
    expect(daily.status, await daily.text()).toBe(200);
  });

  it("threw nothing uncaught", () => {
    expect(worker.logs.filter((l) => l.level === "uncaught" || l.level === "error")).toEqual([]);
  });
});
