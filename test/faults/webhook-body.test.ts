import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import {
  nowSeconds,
  patchSettings,
  postWebhook,
  SIGNATURE,
  TIMESTAMP,
  type WebhookKeys,
  webhookKeys,
} from "../webhooks/helpers.js";

/**
 * Issue 16 item 5: the webhook buffered 16 MiB before any check (32
 * concurrent 15 MB unsigned posts took the process from 168 to 569 MB). Now
 * the signature header's shape, the signing time and the declared length
 * are checked before a byte of the body is read, the body is bounded at
 * 1 MiB as it streams, and the signature is checked against the digest
 * hashed as it arrived.
 */

let gw: TestGateway;
let tenantId: string;
let keys: WebhookKeys;

beforeAll(async () => {
  gw = await startTestGateway();
  const tenant = await createTenantWithTopics(gw);
  tenantId = tenant.tenantId;
  keys = await webhookKeys();
  await patchSettings(gw, tenant.key, { sendgrid: { webhookPublicKey: keys.publicKey } });
});

afterAll(async () => {
  await gw.stop();
});

const CHUNK = 64 * 1024;

/** A body of `total` bytes made as it is pulled, counting what the gateway read. */
function countedBody(total: number) {
  const counter = { pulled: 0 };
  const chunk = new Uint8Array(CHUNK).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= total) {
        controller.close();
        return;
      }
      counter.pulled += CHUNK;
      controller.enqueue(chunk);
    },
  });
  return { stream, counter };
}

async function postStream(
  headers: Record<string, string>,
  total: number,
): Promise<{ res: Response; pulled: number }> {
  const { stream, counter } = countedBody(total);
  const res = await gw.request(`/webhooks/sendgrid/${tenantId}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: stream,
    duplex: "half",
  } as RequestInit);
  return { res, pulled: counter.pulled };
}

async function expectProblem(res: Response, status: number, type: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(((await res.clone().json()) as { type: string }).type).toBe(`/problems/${type}`);
}

/** A signature of the right shape (base64 DER P-256) that signs nothing sent. */
async function wellFormedSignature(): Promise<string> {
  return keys.sign(nowSeconds(gw), "something else");
}

const FIFTEEN_MB = 15 * 1024 * 1024;

describe("before the body is read", () => {
  it("an unsigned 15 MB post is refused (401) having read almost none of it", async () => {
    const { res, pulled } = await postStream({}, FIFTEEN_MB);
    await expectProblem(res, 401, "invalid-signature");
    expect(pulled).toBeLessThan(256 * 1024);
  });

  it("a malformed signature header is refused (401) unread", async () => {
    const { res, pulled } = await postStream(
      { [SIGNATURE]: "not-a-signature", [TIMESTAMP]: nowSeconds(gw) },
      FIFTEEN_MB,
    );
    await expectProblem(res, 401, "invalid-signature");
    expect(pulled).toBeLessThan(256 * 1024);
  });

  it("a stale signing time is refused (401) unread", async () => {
    const { res, pulled } = await postStream(
      { [SIGNATURE]: await wellFormedSignature(), [TIMESTAMP]: nowSeconds(gw, -3600) },
      FIFTEEN_MB,
    );
    await expectProblem(res, 401, "stale-webhook");
    expect(pulled).toBeLessThan(256 * 1024);
  });

  it("an unknown tenant is refused (401) unread", async () => {
    const { stream, counter } = countedBody(FIFTEEN_MB);
    const res = await gw.request("/webhooks/sendgrid/ten_nosuchtenant", {
      method: "POST",
      headers: { [SIGNATURE]: await wellFormedSignature(), [TIMESTAMP]: nowSeconds(gw) },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectProblem(res, 401, "invalid-signature");
    expect(counter.pulled).toBeLessThan(256 * 1024);
  });

  it("a declared length over 1 MiB is refused (413) unread", async () => {
    const { stream, counter } = countedBody(FIFTEEN_MB);
    const res = await gw.app.fetch(
      new Request(`http://grounds.test/webhooks/sendgrid/${tenantId}`, {
        method: "POST",
        headers: {
          [SIGNATURE]: await wellFormedSignature(),
          [TIMESTAMP]: nowSeconds(gw),
          "content-length": String(FIFTEEN_MB),
        },
        body: stream,
        duplex: "half",
      } as RequestInit),
    );
    await expectProblem(res, 413, "payload-too-large");
    expect(counter.pulled).toBeLessThan(256 * 1024);
  });
});

describe("while the body streams", () => {
  it("a well-formed post with no length is cut off at 1 MiB (413)", async () => {
    const { res, pulled } = await postStream(
      { [SIGNATURE]: await wellFormedSignature(), [TIMESTAMP]: nowSeconds(gw) },
      FIFTEEN_MB,
    );
    await expectProblem(res, 413, "payload-too-large");
    expect(pulled).toBeLessThanOrEqual(1024 * 1024 + 2 * CHUNK);
  });

  it("a signed batch of ~900 KB, as SendGrid may send, is accepted", async () => {
    const events = Array.from({ length: 3000 }, (_, i) => ({
      email: `reader${i}@example.cz`,
      event: "open",
      sg_event_id: `big-${i}-${"e".repeat(200)}`,
      timestamp: Math.floor(gw.clock() / 1000) - 60,
    }));
    const body = JSON.stringify(events);
    expect(body.length).toBeGreaterThan(768 * 1024);
    expect(body.length).toBeLessThan(1024 * 1024);
    const res = await postWebhook(gw, tenantId, keys, body);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { received: number }).received).toBe(3000);
  });

  it("a body signed for other bytes is refused (401)", async () => {
    const res = await postWebhook(gw, tenantId, keys, "[]", { signBody: "[ ]" });
    await expectProblem(res, 401, "invalid-signature");
  });

  it("a signed body nested 100,000 deep is 400, not 500", async () => {
    const depth = 100_000;
    const res = await postWebhook(gw, tenantId, keys, `[${"[".repeat(depth)}${"]".repeat(depth)}]`);
    await expectProblem(res, 400, "invalid-request");
  });
});
