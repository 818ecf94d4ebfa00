import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookDeliveries, webhookMessages } from "../../src/db/schema.js";
import { expectProblem } from "../http/helpers.js";
import { consentTo, mailedToken, oneClick, type Services } from "../recipients/helpers.js";
import { databaseOf } from "../support/database.js";
import {
  createTenantWithTopics,
  startTestGateway,
  type TestGateway,
  testClock,
} from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { servicesBeside } from "../support/runtimes.js";
import { startTestWorker } from "../support/worker.js";
import { startReceiver } from "./receiver.js";

/**
 * Outbound webhooks (docs/design.md §5): a one-click unsubscribe reaches the tenant's receiver, signed
 * per Standard Webhooks and verified there with the `standardwebhooks` package, within seconds;
 * durable queue, retries with backoff for more than a day, every attempt visible, no address
 * kept longer than needed.
 */

interface Delivery {
  id: string;
  messageId: string;
  type: string;
  url: string;
  status: string;
  nextAttemptAt: string | null;
  attempts: { at: string; statusCode: number | null; error: string | null }[];
}

const ALL = ["objection", "consent.withdrawn", "consent.confirmed", "suppression", "erasure"];

async function deliveries(gw: GatewayUnderTest, key: string, query = "") {
  const res = await gw.request(`/v1/webhooks/deliveries${query}`, { key });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { body: JSON.parse(text) as { deliveries: Delivery[]; nextCursor: string | null }, text };
}

async function configure(gw: GatewayUnderTest, key: string, url: string, events = ALL) {
  const res = await gw.request("/v1/settings", {
    method: "PATCH",
    key,
    json: { webhooks: [{ url, events }] },
  });
  expect(res.status, await res.text()).toBe(200);
  const secret = await gw.request("/v1/webhooks/secret", { key });
  expect(secret.headers.get("cache-control")).toBe("no-store");
  return ((await secret.json()) as { secret: string }).secret;
}

// Workers: the same route, the same runner, in workerd (Web Crypto, waitUntil after the answer).
const harnesses: {
  name: string;
  start(): Promise<{ gw: GatewayUnderTest; services: Services & { close?(): void } }>;
}[] = [
  {
    name: "node",
    async start() {
      // The real time: the receiver checks the signature's timestamp against its own clock.
      const gw = await startTestGateway({ clock: testClock(Date.now()) });
      return { gw, services: gw };
    },
  },
  {
    name: "workerd",
    async start() {
      const { mkdtempSync } = await import("node:fs");
      const { tmpdir } = await import("node:os");
      const { join } = await import("node:path");
      const worker = await startTestWorker({
        dbPath: join(mkdtempSync(join(tmpdir(), "grounds-hooks-")), "grounds.db"),
      });
      const gw: GatewayUnderTest = worker;
      return { gw, services: await servicesBeside(gw) };
    },
  },
];

describe.each(harnesses)("on $name", (harness) => {
  let gw: GatewayUnderTest;
  let services: Services & { close?(): void };
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    ({ gw, services } = await harness.start());
    receiver = await startReceiver();
    ({ key, tenantId } = await createTenantWithTopics(gw));
  });
  afterAll(async () => {
    services?.close?.();
    await receiver?.close();
    await gw?.stop();
  });

  it("refuses an endpoint that is not https (http only on localhost), and unknown events", async () => {
    for (const webhooks of [
      [{ url: "http://crm.example/hook", events: ["objection"] }],
      [{ url: "https://user:pw@crm.example/hook", events: ["objection"] }],
      [{ url: "https://crm.example/hook", events: ["opened"] }],
      [{ url: "https://crm.example/hook", events: [] }],
    ]) {
      await expectProblem(
        await gw.request("/v1/settings", { method: "PATCH", key, json: { webhooks } }),
        400,
        "invalid-request",
      );
    }
    await expectProblem(await gw.request("/v1/webhooks/secret", { key }), 404, "not-found");
  });

  it("tells the receiver of a one-click unsubscribe within seconds, signed and verified", async () => {
    const secret = await configure(gw, key, receiver.url);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    receiver.setSecret(secret);
    await consentTo(services, tenantId, "jana.novak@example.cz", ["tips"]);
    const { token } = await mailedToken(gw, key, "jana.novak@example.cz");

    const clicked = Date.now();
    const res = await oneClick(gw, token);
    expect(res.status).toBe(200);
    const [got] = await receiver.waitFor(1);
    expect(got, "the receiver got the objection").toBeDefined();
    expect(got?.verified, "signature verified with standardwebhooks").toBe(true);
    expect(got?.body.type).toBe("objection");
    expect(got?.body.data).toMatchObject({
      email: "jana.novak@example.cz",
      tenant: tenantId,
      topic: "tips",
      channel: "one-click",
    });
    // Nothing personal but the address.
    expect(Object.keys(got?.body.data ?? {}).sort()).toEqual(
      ["channel", "email", "evidenceId", "occurredAt", "tenant", "topic"].sort(),
    );
    expect((got?.at ?? Infinity) - clicked).toBeLessThan(10_000);

    const { body, text } = await deliveries(gw, key);
    expect(text).not.toContain("jana.novak");
    expect(body.deliveries).toMatchObject([
      { messageId: got?.id, type: "objection", url: receiver.url, status: "delivered" },
    ]);
    expect(body.deliveries[0]?.attempts).toMatchObject([{ statusCode: 200, error: null }]);
    // Delivered: the address is no longer kept beside the message.
    const [stored] = await databaseOf(gw)
      .select()
      .from(webhookMessages)
      .where(eq(webhookMessages.id, got?.id ?? ""));
    expect(stored?.email).toBeNull();
  });

  it("answers the stop at once even while the receiver hangs", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = receiver.received.length;
    receiver.answerWith(async () => {
      await held;
      return 200;
    });
    const res = await gw.request("/v1/objections", {
      method: "POST",
      key,
      json: {
        email: "petr@example.cz",
        topics: ["*"],
        channel: "api",
        receivedAt: new Date(gw.clock()).toISOString(),
      },
    });
    expect(res.status).toBe(201);
    // The objection is answered (durable) while the receiver still holds its webhook.
    await receiver.waitFor(before + 1);
    expect(receiver.received).toHaveLength(before + 1);
    release();
    receiver.answerWith(() => 200);
    // Released: the delivery is recorded as delivered.
    for (let i = 0; i < 200; i++) {
      if ((await deliveries(gw, key, "?status=pending")).body.deliveries.length === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await deliveries(gw, key, "?status=pending")).body.deliveries).toEqual([]);
    expect(receiver.received.at(-1)?.body).toMatchObject({
      type: "objection",
      data: { email: "petr@example.cz", topic: "*", channel: "api" },
    });
  });
});

// Retries move with the clock: the Node harness's clock can be moved.
describe("on node: retries, erasure, imports", () => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let key: string;

  beforeAll(async () => {
    gw = await startTestGateway({ clock: testClock(Date.now()) });
    receiver = await startReceiver();
    ({ key } = await createTenantWithTopics(gw));
    receiver.setSecret(await configure(gw, key, receiver.url));
  });
  afterAll(async () => {
    await receiver?.close();
    await gw?.stop();
  });

  const run = async () => {
    gw.runWebhooks();
    await gw.idle();
  };

  it("retries a failing endpoint with backoff, and delivers once it answers", async () => {
    receiver.answerWith(() => 503);
    await gw.request("/v1/suppressions", {
      method: "POST",
      key,
      json: { email: "bounce@example.cz", reason: "hard-bounce" },
    });
    await gw.idle();
    let [delivery] = (await deliveries(gw, key, "?status=pending")).body.deliveries;
    expect(delivery?.attempts).toMatchObject([{ statusCode: 503, error: "HTTP 503" }]);
    expect(Date.parse(delivery?.nextAttemptAt ?? "")).toBe(gw.clock() + 5_000);
    // Not due yet: nothing is sent.
    const sent = receiver.received.length;
    await run();
    expect(receiver.received).toHaveLength(sent);
    gw.clock.advance(5_000);
    receiver.answerWith(() => 204);
    await run();
    expect(receiver.received).toHaveLength(sent + 1);
    [delivery] = (await deliveries(gw, key)).body.deliveries;
    expect(delivery?.status).toBe("delivered");
    expect(delivery?.attempts.map((a) => a.statusCode)).toEqual([503, 204]);
    // The same webhook-id on every attempt: a receiver drops duplicates by it.
    expect(new Set(receiver.received.slice(-2).map((r) => r.id)).size).toBe(1);
  });

  it("keeps trying for more than a day, then gives up as failed", async () => {
    receiver.answerWith(() => 500);
    const start = gw.clock();
    await gw.request("/v1/suppressions", {
      method: "POST",
      key,
      json: { email: "down@example.cz", reason: "hard-bounce" },
    });
    await gw.idle();
    for (let i = 0; i < 10; i++) {
      const [pending] = (await deliveries(gw, key, "?status=pending")).body.deliveries;
      if (!pending?.nextAttemptAt) break;
      gw.clock.set(Date.parse(pending.nextAttemptAt));
      await run();
    }
    const [failed] = (await deliveries(gw, key, "?status=failed")).body.deliveries;
    expect(failed?.attempts).toHaveLength(8);
    const last = Date.parse(failed?.attempts.at(-1)?.at ?? "");
    expect(last - start).toBeGreaterThan(24 * 3_600_000);
    const [stored] = await databaseOf(gw)
      .select()
      .from(webhookMessages)
      .where(eq(webhookMessages.id, failed?.messageId ?? ""));
    expect(stored?.email).toBeNull();
    receiver.answerWith(() => 200);
  });

  it("an erasure cancels what was pending for the person and sends only the erasure", async () => {
    // Back to the real time: the receiver checks the signature's timestamp.
    gw.clock.set(Date.now());
    receiver.answerWith(() => 500);
    await gw.request("/v1/objections", {
      method: "POST",
      key,
      json: {
        email: "erase.me@example.cz",
        topics: ["tips"],
        channel: "email",
        receivedAt: new Date(gw.clock()).toISOString(),
      },
    });
    await gw.idle();
    receiver.answerWith(() => 200);
    const before = receiver.received.length;
    const erased = await gw.request(`/v1/subjects/${encodeURIComponent("erase.me@example.cz")}`, {
      method: "DELETE",
      key,
    });
    expect(erased.status).toBe(200);
    await receiver.waitFor(before + 1);
    await gw.idle();
    const sent = receiver.received.slice(before);
    expect(sent.map((r) => r.body.type)).toEqual(["erasure"]);
    expect(sent[0]?.verified).toBe(true);
    expect(sent[0]?.body.data.email).toBe("erase.me@example.cz");
    const all = (await deliveries(gw, key)).body.deliveries;
    expect(all.find((d) => d.type === "objection" && d.status === "cancelled")).toBeDefined();
    const rows = await databaseOf(gw).select().from(webhookMessages);
    expect(JSON.stringify(rows)).not.toContain("erase.me");
  });

  it("an endpoint removed from the settings gets nothing more", async () => {
    receiver.answerWith(() => 500);
    await gw.request("/v1/suppressions", {
      method: "POST",
      key,
      json: { email: "gone@example.cz", reason: "restricted" },
    });
    await gw.idle();
    await gw.request("/v1/settings", { method: "PATCH", key, json: { webhooks: [] } });
    gw.clock.advance(5_000);
    const sent = receiver.received.length;
    await run();
    expect(receiver.received).toHaveLength(sent);
    const rows = await databaseOf(gw)
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.status, "pending"));
    expect(rows).toEqual([]);
    receiver.answerWith(() => 200);
  });
});
