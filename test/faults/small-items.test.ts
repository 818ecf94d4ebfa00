import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withStaticAssets } from "../../src/entry/node-gateway.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * Issue 16 item 9, the smaller faults: each was reproduced here before it
 * was fixed.
 */

let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startTestGateway({ env: { TRUSTED_PROXIES: "10.0.0.0/8" } });
  ({ key } = await createTenantWithTopics(gw));
});

afterAll(async () => {
  await gw.stop();
});

describe("deeply nested JSON", () => {
  const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const send = (data: string, where: "message" | "recipient") =>
    gw.request("/v1/messages", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: `{"topic":"invoices","from":{"email":"shop@optika.example"},"subject":"Invoice","text":"Hi",${
        where === "message" ? `"data":{"x":${data}},` : ""
      }"recipients":[{"email":"nested@example.cz"${where === "recipient" ? `,"data":{"x":${data}}` : ""}}]}`,
    });

  it.each([
    ["message", 10_000],
    ["recipient", 10_000],
    ["message", 100_000],
  ] as const)("in a send's %s data (%i levels) is 400, not 500", async (where, depth) => {
    const res = await send(nested(depth), where);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as { type: string; errors: { pointer: string }[] };
    expect(body.type).toBe("/problems/invalid-request");
    expect(body.errors[0]?.pointer).toMatch(/data$/);
  });

  it("a few levels of template data still send", async () => {
    const res = await send(`{"a":{"b":[{"c":"d"}]}}`, "message");
    // Accepted: 202 while the queue delivers (docs/design.md §7).
    expect(res.status).toBe(202);
    await deliveriesDone(gw);
  });
});

describe("unknown routes on Node", () => {
  it("answer problem+json through the Node entry's app too", async () => {
    const res = await withStaticAssets(gw.app).fetch(
      new Request("http://grounds.test/no/such/path"),
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as { type: string }).type).toBe("/problems/not-found");
  });
});

describe("the dashboard cookie behind a TLS-terminating proxy", () => {
  const signInCookie = async (clientIp: string, forwardedProto?: string) => {
    const res = await gw.request("/dashboard", {
      clientIp,
      ...(forwardedProto ? { headers: { "x-forwarded-proto": forwardedProto } } : {}),
    });
    expect(res.status).toBe(200);
    return res.headers.get("set-cookie") ?? "";
  };

  it("is Secure when a trusted proxy says the client used https", async () => {
    expect(await signInCookie("10.1.2.3", "https")).toMatch(/;\s*Secure/i);
  });

  it("is not made Secure by a client's own X-Forwarded-Proto, nor over plain http", async () => {
    expect(await signInCookie("198.51.100.7", "https")).not.toMatch(/;\s*Secure/i);
    expect(await signInCookie("10.1.2.3", "http")).not.toMatch(/;\s*Secure/i);
    expect(await signInCookie("10.1.2.3")).not.toMatch(/;\s*Secure/i);
  });
});
