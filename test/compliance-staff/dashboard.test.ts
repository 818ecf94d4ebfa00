import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentData, seedEvidence } from "../messages/seed.js";
import { launchChromium } from "../support/chromium.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { appendMany, tenantWithKeys } from "./support.js";

/** The compliance dashboard in real Chromium: sign-in, charts, requests, exports. */

const DAY = 86_400_000;
const SHOTS = fileURLToPath(new URL("../.tmp/dashboard", import.meta.url));
let gw: TestGateway;
let t: Awaited<ReturnType<typeof tenantWithKeys>>;
let other: Awaited<ReturnType<typeof tenantWithKeys>>;
let server: ReturnType<typeof serve>;
let base: string;
let browser: Browser;

beforeAll(async () => {
  gw = await startTestGateway();
  t = await tenantWithKeys(gw, "Optika");
  other = await tenantWithKeys(gw, "Other");
  const now = gw.clock();
  const reasons = ["no-basis", "objection", "hard-bounce", "consent-expired"];
  await appendMany(gw, t.tenantId, 600, (i) => ({
    decidedAt: now - Math.floor(((600 - i) / 600) * 29 * DAY) - 1000,
    ...(i % 3 === 0 ? { reasons: [reasons[i % 4] ?? "no-basis"] } : {}),
  }));
  await appendMany(gw, other.tenantId, 50);
  await seedEvidence(
    gw,
    t.tenantId,
    Array.from({ length: 40 }, (_, i) => ({
      email: `o${i}@example.com`,
      kind: i % 4 === 0 ? ("suppression" as const) : ("objection" as const),
      ...(i % 4 === 0 ? {} : { topic: "*" }),
      at: now - (i % 25) * DAY - 5000,
      data: i % 4 === 0 ? { reason: "spam-complaint" } : { channel: "email" },
    })),
  );
  await seedEvidence(gw, t.tenantId, [
    {
      email: "alice@example.com",
      kind: "consent-granted",
      topic: "tips",
      at: now - DAY,
      data: consentData,
    },
  ]);
  await gw.request("/v1/subjects/alice%40example.com", { key: t.compliance });
  await gw.request("/v1/subjects/alice%40example.com", { method: "DELETE", key: t.admin });
  server = serve({ fetch: gw.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await gw.stop();
});

describe("/dashboard", () => {
  it("signs in with a compliance:read key and shows charts, requests and exports", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const external: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(base)) external.push(request.url());
    });
    await page.goto(`${base}/dashboard`);
    await expect(page.title()).resolves.toContain("Sign in");
    await page.screenshot({ path: join(SHOTS, "sign-in.png") });
    await page.fill("#key", t.compliance);
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}/dashboard`);
    await expect(page.locator("h1").textContent()).resolves.toBe("Compliance dashboard");
    await page.screenshot({ path: join(SHOTS, "dashboard.png"), fullPage: true });
    expect(await page.locator("svg.chart").count()).toBe(2);
    expect(await page.locator("svg.chart rect").count()).toBeGreaterThan(30);
    const decisions = await page.locator("svg.chart").first().getAttribute("aria-label");
    expect(decisions).toMatch(/sent \d+/);
    expect(decisions).toContain("objection");
    const complaints = await page.locator("svg.chart").nth(1).getAttribute("aria-label");
    expect(complaints).toContain("objection 30");
    expect(complaints).toContain("spam-complaint 10");
    const table = await page.locator("table").textContent();
    expect(table).toContain("access");
    expect(table).toContain("erasure");
    expect(table).toContain("2026-12-23");

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "grounds_dashboard");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/dashboard" });
    expect(session?.value).not.toContain(t.compliance);
    expect(external).toEqual([]);

    // The export button downloads the proof log, which names this tenant only.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("text=Download NDJSON"),
    ]);
    const path = await download.path();
    const { readFileSync } = await import("node:fs");
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(601);
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ tenant: t.tenantId, complete: true });

    await page.click("text=Sign out");
    await page.waitForURL(`${base}/dashboard`);
    await expect(page.title()).resolves.toContain("Sign in");
    await context.close();
  }, 60_000);

  it("refuses a key without compliance:read, a forged cookie, and a cross-site or token-less form", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.fill("#key", "not-a-key");
    await page.click("button[type=submit]");
    await expect(page.locator("[role=alert]").textContent()).resolves.toContain("not accepted");
    await context.close();

    // No CSRF cookie and token: refused, whatever the key.
    const forged = await fetch(`${base}/dashboard/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: t.compliance, csrf: "x" }),
      redirect: "manual",
    });
    expect(forged.status).toBe(403);
    expect(forged.headers.get("set-cookie") ?? "").not.toContain("grounds_dashboard=");
    // A form posted from another origin, even with a matching double-submit token.
    const crossSite = await fetch(`${base}/dashboard/sign-in`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "https://evil.example",
        cookie: "grounds_dashboard_signin=abc",
      },
      body: new URLSearchParams({ key: t.compliance, csrf: "abc" }),
      redirect: "manual",
    });
    expect(crossSite.status).toBe(403);
    const sameSite = await fetch(`${base}/dashboard/sign-in`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: "grounds_dashboard_signin=abc",
      },
      body: new URLSearchParams({ key: t.compliance, csrf: "abc" }),
      redirect: "manual",
    });
    expect(sameSite.status).toBe(303);
    expect(sameSite.headers.get("set-cookie")).toMatch(
      /grounds_dashboard=[^;]+;.*HttpOnly.*SameSite=Strict/,
    );
    // A forged session cookie shows the sign-in page; so does the export.
    const page2 = await fetch(`${base}/dashboard`, {
      headers: { cookie: "grounds_dashboard=forged" },
    });
    expect(await page2.text()).toContain("Sign in with an API key");
    const exported = await fetch(`${base}/dashboard/export?format=csv`, {
      headers: { cookie: "grounds_dashboard=forged" },
      redirect: "manual",
    });
    expect(exported.status).toBe(303);
  });
});
