import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentBody } from "../http/helpers.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics } from "../support/gateway.js";
import { startTestWorker, type TestWorker } from "../support/worker.js";

/**
 * The recipient pages on the Workers build, in workerd: the JSX pages render
 * on the edge, the one-click POST and the double opt-in confirmation record
 * their evidence, and the client's IP is Cloudflare's `CF-Connecting-IP`.
 */

let dir: string;
let worker: TestWorker;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-worker-recipients-"));
  worker = await startTestWorker({ dbPath: join(dir, "grounds.db") });
  ({ key } = await createTenantWithTopics(worker));
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function outboxMail(to: string) {
  await deliveriesDone(worker);
  const res = await worker.request("/v1/outbox?limit=500", { key });
  const { messages } = (await res.json()) as {
    messages: { to: string; headers: Record<string, string>; text: string }[];
  };
  const mail = messages.find((m) => m.to === to);
  if (!mail) throw new Error(`no mail to ${to}`);
  return mail;
}

async function decision(email: string, topic: string) {
  const res = await worker.request(
    `/v1/subjects/${encodeURIComponent(email)}/decision?topic=${topic}`,
    { key },
  );
  return (await res.json()) as { decision: string; basis: string | null; reasons: string[] };
}

async function evidenceOf(email: string) {
  const res = await worker.request(`/v1/evidence?email=${encodeURIComponent(email)}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as unknown;
}

describe("recipients on the Worker", () => {
  it("shows the page and honours a one-click unsubscribe", async () => {
    const email = "edge@example.cz";
    const ago = new Date(Date.now() - 86_400_000).toISOString();
    const consent = await worker.request("/v1/consents", {
      method: "POST",
      key,
      json: consentBody(email, ["tips"], ago),
    });
    expect(consent.status).toBe(201);
    const sent = await worker.request("/v1/messages", {
      method: "POST",
      key,
      json: {
        topic: "tips",
        from: { email: "news@optika.example" },
        subject: "Tips",
        html: "<p>Tips</p>",
        recipients: [{ email }],
      },
    });
    expect(sent.status).toBe(202);
    const mail = await outboxMail(email);
    const path = /<https?:\/\/[^/>]+(\/u\/[A-Za-z0-9_-]+)>/.exec(
      mail.headers["List-Unsubscribe"] ?? "",
    )?.[1];
    expect(path).toBeDefined();

    const page = await worker.request(path ?? "", { headers: { "accept-language": "cs" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<html lang="cs">');
    expect(html).toContain("Odhlásit odběr: Tips");

    const res = await worker.request(path ?? "", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "cf-connecting-ip": "203.0.113.9",
      },
      body: "List-Unsubscribe=One-Click",
      redirect: "manual",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    expect(await decision(email, "tips")).toMatchObject({
      decision: "suppress",
      reasons: ["objected"],
    });
    expect(JSON.stringify(await evidenceOf(email))).toContain("203.0.113.0");
  });

  it("confirms a double opt-in", async () => {
    const email = "edge-doi@example.cz";
    const res = await worker.request("/v1/subscriptions", {
      method: "POST",
      key,
      json: {
        email,
        topics: ["deals-lenses"],
        wording: { version: "1", text: "Lens deals, yes." },
      },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const mail = await outboxMail(email);
    const path = /https?:\/\/[^/\s\]]+(\/c\/[A-Za-z0-9_-]+)/.exec(mail.text)?.[1] ?? "";
    expect((await worker.request(path)).status).toBe(200);
    const confirmed = await worker.request(path, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "cf-connecting-ip": "2001:db8:abcd:12::1",
      },
      body: "lang=en",
    });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain("Subscription confirmed");
    expect(await decision(email, "deals-lenses")).toMatchObject({
      decision: "send",
      basis: "consent",
    });
    expect(JSON.stringify(await evidenceOf(email))).toContain("2001:db8:abcd::");
  });

  it("limits a client by CF-Connecting-IP", async () => {
    let status = 0;
    let count = 0;
    while (status !== 429 && count < 200) {
      count += 1;
      status = (
        await worker.request(`/u/not-a-token-${count}`, {
          headers: { "cf-connecting-ip": "198.51.100.99" },
        })
      ).status;
    }
    expect(count).toBe(121);
    const other = await worker.request("/u/not-a-token", {
      headers: { "cf-connecting-ip": "198.51.100.100" },
    });
    expect(other.status).toBe(404);
  });
});
