import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOutbox } from "../../src/adapters/outbox.js";
import { readConfig } from "../../src/config.js";
import { outbox } from "../../src/db/schema.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { databaseOf } from "../support/database.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { evidenceOf, postForm } from "./helpers.js";

/**
 * Behind a reverse proxy (Node): the client is the address the trusted proxy
 * forwarded, for the recorded (anonymised) IP and the per-IP limits; without
 * a trusted proxy, X-Forwarded-For is never read — a client cannot choose its
 * address. (On Workers, Cloudflare gives the client's address itself.)
 */

const WORDING = { version: "form-1", text: "Send me tips. I can unsubscribe at any time." };

async function confirmedIpOf(
  gw: TestGateway,
  email: string,
  request: { clientIp: string; forwardedFor?: string },
): Promise<unknown> {
  const { key, tenantId } = await createTenantWithTopics(gw);
  const res = await gw.request("/v1/subscriptions", {
    method: "POST",
    key,
    json: { email, topics: ["tips"], wording: WORDING },
  });
  expect(res.status).toBe(202);
  await deliveriesDone(gw);
  const [mail] = await readOutbox(databaseOf(gw), eq(outbox.to, email));
  const path = /https?:\/\/[^/"\s]+(\/c\/[A-Za-z0-9_-]+)/.exec(mail?.text ?? "")?.[1];
  if (!path) throw new Error("no confirmation link");
  const confirmed = await postForm(gw, path, [["lang", "en"]], {
    clientIp: request.clientIp,
    ...(request.forwardedFor ? { headers: { "x-forwarded-for": request.forwardedFor } } : {}),
  });
  expect(confirmed.status).toBe(200);
  const rows = await evidenceOf(gw, tenantId, email);
  return rows.find((row) => row.kind === "consent-confirmed")?.personal;
}

describe("behind trusted proxies (TRUSTED_PROXIES=loopback,10.0.0.0/8)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TRUSTED_PROXIES: "loopback, 10.0.0.0/8" } });
  });
  afterAll(async () => gw.stop());

  it("the client is the address the proxy forwarded", async () => {
    expect(
      await confirmedIpOf(gw, "a@proxy.example", {
        clientIp: "127.0.0.1",
        forwardedFor: "203.0.113.7",
      }),
    ).toMatchObject({ confirmIp: "203.0.113.0" });
  });

  it("through a chain of trusted proxies, the nearest untrusted address", async () => {
    expect(
      await confirmedIpOf(gw, "b@proxy.example", {
        clientIp: "127.0.0.1",
        // What a client claims first is not believed: only the hops after it are trusted.
        forwardedFor: "192.0.2.66, 198.51.100.9, 10.1.2.3",
      }),
    ).toMatchObject({ confirmIp: "198.51.100.0" });
  });

  it("a request straight from an untrusted peer is from that peer, whatever it forwards", async () => {
    expect(
      await confirmedIpOf(gw, "c@proxy.example", {
        clientIp: "192.0.2.5",
        forwardedFor: "203.0.113.7",
      }),
    ).toMatchObject({ confirmIp: "192.0.2.0" });
  });
});

describe("with no trusted proxy (the default)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw.stop());

  it("X-Forwarded-For is ignored", async () => {
    expect(
      await confirmedIpOf(gw, "d@proxy.example", {
        clientIp: "127.0.0.1",
        forwardedFor: "203.0.113.7",
      }),
    ).toMatchObject({ confirmIp: "127.0.0.0" });
  });
});

describe("a wrong TRUSTED_PROXIES", () => {
  it("stops the start with the setting named", async () => {
    const config = readConfig({
      DATABASE_URL: "file::memory:",
      TRUSTED_PROXIES: "loopback, not-an-address",
    });
    await expect(createNodeGateway(config)).rejects.toThrow(/TRUSTED_PROXIES/);
  });
});
