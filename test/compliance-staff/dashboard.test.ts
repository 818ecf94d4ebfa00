import { mkdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { and, count, eq } from "drizzle-orm";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dsrRequests } from "../../src/db/schema.js";
import { MEANING_COLOURS } from "../../src/http/pages/charts.js";
import { consentData, seedEvidence } from "../messages/seed.js";
import { launchChromium } from "../support/chromium.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { appendMany, tenantWithKeys } from "./support.js";

/**
 * The compliance workbench in real Chromium, on a desktop and on a 390 px
 * phone: sign in, answer "why did this person get this message?" (look the
 * person up, read the decision, its basis, reasons, trace and evidence, open
 * the message), without registering a data-subject request until asked;
 * charts with colours fixed per meaning and a table beside each; filtered
 * exports; the proof log verified on demand. Screenshots go to
 * test/.tmp/dashboard (not committed), to be looked at.
 */

const DAY = 86_400_000;
const SHOTS = fileURLToPath(new URL("../.tmp/dashboard", import.meta.url));
const JANA = "jana.novak@example.cz";
const PETR = "petr.svoboda@example.cz";
const STRANGER = "someone@example.cz";
let gw: TestGateway;
let t: Awaited<ReturnType<typeof tenantWithKeys>>;
let other: Awaited<ReturnType<typeof tenantWithKeys>>;
let server: ReturnType<typeof serve>;
let base: string;
let browser: Browser;
let messageId: string;

const VIEWPORTS: Record<string, BrowserContextOptions> = {
  desktop: { viewport: { width: 1280, height: 900 } },
  phone: {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  },
};

async function post(path: string, key: string, json: unknown) {
  const res = await gw.request(path, { method: "POST", key, json });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
  return res.json();
}

async function dsrCount(): Promise<number> {
  const [row] = await gw.deps.db
    .select({ n: count() })
    .from(dsrRequests)
    .where(and(eq(dsrRequests.tenantId, t.tenantId)));
  return row?.n ?? 0;
}

beforeAll(async () => {
  gw = await startTestGateway();
  t = await tenantWithKeys(gw, "Optika");
  other = await tenantWithKeys(gw, "Other");
  const now = gw.clock();
  const reasons = ["no-basis", "objected", "hard-bounce", "consent-expired"];
  await appendMany(gw, t.tenantId, 600, (i) => ({
    decidedAt: now - Math.floor(((600 - i) / 600) * 29 * DAY) - 60_000,
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

  // A real send: Jana consented, Petr objected, the stranger has no basis.
  await post("/v1/topics", t.admin, {
    id: "tips",
    name: "Tips for your glasses",
    class: "marketing",
    categories: ["accessories"],
  });
  await post("/v1/consents", t.admin, {
    email: JANA,
    topics: ["tips"],
    action: "grant",
    collectedAt: new Date(now - 10 * DAY).toISOString(),
    source: { method: "web-form", url: "https://optika.example/newsletter", ip: "203.0.113.77" },
    wording: { version: "2026-10", text: "Send me tips for my glasses." },
  });
  await post("/v1/objections", t.admin, {
    email: PETR,
    topics: ["*"],
    channel: "email",
    receivedAt: new Date(now - 2 * DAY).toISOString(),
  });
  gw.clock.advance(1000);
  const sent = (await post("/v1/messages", t.admin, {
    topic: "tips",
    from: { email: "news@optika.example", name: "Optika" },
    subject: "Caring for your glasses",
    html: "<p>Clean them with a soft cloth.</p>",
    recipients: [{ email: JANA }, { email: PETR }, { email: STRANGER }],
  })) as { messageId: string };
  messageId = sent.messageId;

  server = serve({ fetch: gw.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await gw.stop();
});

async function signedIn(options: BrowserContextOptions) {
  const context = await browser.newContext({ ...options, acceptDownloads: true });
  const page = await context.newPage();
  const elsewhere: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base)) elsewhere.push(request.url());
  });
  await page.goto(`${base}/dashboard`);
  await expect(page.title()).resolves.toContain("Sign in");
  await page.fill("#key", t.compliance);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/dashboard`);
  return { context, page, elsewhere };
}

/** Nothing is wider than the window: no sideways scrolling of the page itself. */
async function fitsWidth(page: Page, width: number) {
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(scrollWidth).toBeLessThanOrEqual(width);
}

for (const [name, options] of Object.entries(VIEWPORTS)) {
  const width = options.viewport?.width ?? 0;
  describe(`/dashboard on a ${name}`, () => {
    it("answers why this person got this message, without registering a request until asked", async () => {
      const { context, page, elsewhere } = await signedIn(options);
      const shot = (step: string) =>
        page.screenshot({ path: join(SHOTS, `${name}-why-${step}.png`), fullPage: true });
      const before = await dsrCount();

      await page.fill("#email", JANA);
      await Promise.all([
        page.waitForURL(`${base}/dashboard/subject`),
        page.getByRole("button", { name: "Look up", exact: true }).click(),
      ]);
      await fitsWidth(page, width);
      await shot("1-person");
      // The address travelled in the body, not the URL.
      expect(page.url()).not.toContain("jana");
      const decision = page.locator("#justifications > li").first();
      await expect(decision.textContent()).resolves.toMatch(/SENT\s+on\s+consent/);
      expect(await decision.textContent()).toContain("cz@1");
      expect(await decision.textContent()).toContain(messageId);
      // The trace and the evidence it rested on: the consent, in the timeline too.
      await decision.locator("summary").click();
      const details = (await decision.locator("details").textContent()) ?? "";
      expect(details).toMatch(/consent/);
      expect(details).toContain("consent-granted");
      const cited = await decision.locator("details a[href^='#e-']").count();
      expect(cited).toBeGreaterThan(0);
      const timeline = (await page.locator("#evidence").textContent()) ?? "";
      expect(timeline).toContain("consent-granted");
      expect(timeline).toContain("method web-form");
      await shot("2-trace");
      // Looking up is not an access request.
      expect(await dsrCount()).toBe(before);

      // The message's page: who else, and why not.
      await Promise.all([
        page.waitForURL(`${base}/dashboard/messages/${messageId}`),
        decision.locator(`a[href="/dashboard/messages/${messageId}"]`).click(),
      ]);
      const message = (await page.locator("main").textContent()) ?? "";
      expect(message).toContain("Caring for your glasses");
      expect(message).toContain("1 sent, 2 suppressed");
      expect(message).toContain("objected");
      expect(message).toContain("no-basis");
      await fitsWidth(page, width);
      await shot("3-message");

      // Petr's suppression says why, with the objection it rested on.
      await page.goto(`${base}/dashboard/subject`);
      await page.fill("#email", PETR);
      await Promise.all([
        page.waitForURL(`${base}/dashboard/subject`),
        page.getByRole("button", { name: "Look up", exact: true }).click(),
      ]);
      const petr = (await page.locator("#justifications > li").first().textContent()) ?? "";
      expect(petr).toMatch(/SUPPRESSED/);
      expect(petr).toContain("objected");
      expect(await dsrCount()).toBe(before);

      // Registering is a separate, explicit button: it records the request and downloads the answer.
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: /Register an access request/ }).click(),
      ]);
      const answer = JSON.parse(readFileSync(await download.path(), "utf8")) as {
        request: { kind: string };
        decisions: unknown[];
      };
      expect(answer.request.kind).toBe("access");
      expect(answer.decisions.length).toBe(1);
      expect(await dsrCount()).toBe(before + 1);
      expect(elsewhere).toEqual([]);
      await context.close();
    }, 90_000);

    it("charts with colours fixed per meaning and a table beside each, readable at this width", async () => {
      const { context, page, elsewhere } = await signedIn(options);
      await expect(page.locator("h1").textContent()).resolves.toBe("Compliance workbench");
      await page.screenshot({ path: join(SHOTS, `${name}-overview.png`), fullPage: true });
      await fitsWidth(page, width);
      const charts = page.locator("svg.chart");
      expect(await charts.count()).toBe(3);
      for (const id of ["decisions", "rate", "complaints"]) {
        expect(await page.locator(`#${id}-table tbody tr`).count(), id).toBeGreaterThan(3);
      }
      // Same meaning, same colour, in every chart; "objected" (a decision) and "objection" (evidence) alike.
      const fills = await page
        .locator("svg.chart rect[data-series]")
        .evaluateAll((rects) =>
          rects.map((r) => [r.getAttribute("data-series"), r.getAttribute("fill")]),
        );
      const bySeries = new Map<string, Set<string>>();
      for (const [series, fill] of fills) {
        const set = bySeries.get(String(series)) ?? new Set<string>();
        set.add(String(fill));
        bySeries.set(String(series), set);
      }
      for (const [series, set] of bySeries) {
        expect([...set], series).toEqual([MEANING_COLOURS[series]]);
      }
      expect(bySeries.has("objected") && bySeries.has("objection")).toBe(true);
      expect(MEANING_COLOURS.objected).toBe(MEANING_COLOURS.objection);
      expect(bySeries.get("sent")?.size).toBe(1);
      const colours = [...bySeries.entries()]
        .filter(([s]) => s !== "objected" && s !== "objection" && s !== "complaint-rate")
        .map(([, set]) => [...set][0]);
      expect(new Set(colours).size, "different meanings, different colours").toBe(colours.length);
      // The complaint rate, against the 0.3% limit.
      const rate = (await page.locator("#rate-table").textContent()) ?? "";
      expect(rate).toContain("above limit");
      expect(await page.locator("#rate-chart").getAttribute("aria-label")).toMatch(
        /days above the 0\.30% limit/,
      );
      // The axis labels stay readable: at least 9 CSS px on the screen.
      const smallest = await page
        .locator("svg.chart text")
        .evaluateAll((texts) => Math.min(...texts.map((el) => el.getBoundingClientRect().height)));
      expect(smallest).toBeGreaterThanOrEqual(9);
      // The request queue: the access and erasure requests, with their deadline.
      const queue = (await page.locator("#requests-table").textContent()) ?? "";
      expect(queue).toContain("access");
      expect(queue).toContain("erasure");
      expect(queue).toContain("2026-12-23");

      // A filtered export: one topic's sent decisions, as NDJSON.
      await page.selectOption("#export-topic", "tips");
      await page.selectOption("#export-decision", "send");
      await page.selectOption("#export-format", "ndjson");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Download", exact: true }).click(),
      ]);
      const lines = readFileSync(await download.path(), "utf8")
        .trim()
        .split("\n");
      const [header, ...records] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(header).toMatchObject({ tenant: t.tenantId });
      expect(records.length).toBeGreaterThan(100);
      for (const r of records) expect([r.topic, r.decision]).toEqual(["tips", "send"]);

      // The proof log, verified on demand.
      await page.click("text=Proof log");
      await page.waitForURL(`${base}/dashboard/log`);
      expect(await page.locator("#logs").textContent()).toContain("justifications");
      // The Merkle log's latest checkpoint, as signed (C2SP tlog-checkpoint: origin, size, root).
      const note = (await page.locator("#checkpoint").textContent()) ?? "";
      expect(note).toContain(`/grounds/${t.tenantId}`);
      expect(await page.locator("#anchor").textContent()).toContain("none yet");
      await page.click("text=Verify integrity now");
      await page.waitForURL(`${base}/dashboard/log?verify=1`);
      await expect(page.locator("#integrity-result").textContent()).resolves.toBe("OK");
      await fitsWidth(page, width);
      await page.screenshot({ path: join(SHOTS, `${name}-log.png`), fullPage: true });
      expect(elsewhere).toEqual([]);

      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === "grounds_dashboard");
      expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/dashboard" });
      expect(session?.value).not.toContain(t.compliance);
      await page.click("text=Sign out");
      await page.waitForURL(`${base}/dashboard`);
      await expect(page.title()).resolves.toContain("Sign in");
      await context.close();
    }, 90_000);
  });
}

describe("/dashboard refusals", () => {
  it("refuses a key without compliance:read, a forged cookie, and a cross-site or token-less form", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.screenshot({ path: join(SHOTS, "sign-in.png"), fullPage: true });
    expect(await page.locator("main").textContent()).toContain("compliance:read");
    await page.fill("#key", "not-a-key");
    await page.click("button[type=submit]");
    await expect(page.locator("[role=alert]").textContent()).resolves.toContain("not accepted");
    await context.close();

    const forged = await fetch(`${base}/dashboard/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: t.compliance, csrf: "x" }),
      redirect: "manual",
    });
    expect(forged.status).toBe(403);
    expect(forged.headers.get("set-cookie") ?? "").not.toContain("grounds_dashboard=");
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
    const cookie = /grounds_dashboard=[^;]+/.exec(sameSite.headers.get("set-cookie") ?? "")?.[0];
    expect(sameSite.headers.get("set-cookie")).toMatch(/HttpOnly.*SameSite=Strict/);
    // A look-up or an access request without the session's CSRF token is refused, and registers nothing.
    const before = await dsrCount();
    for (const path of ["/dashboard/subject", "/dashboard/access-requests"]) {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookie ?? "" },
        body: new URLSearchParams({ email: JANA, csrf: "wrong" }),
        redirect: "manual",
      });
      expect(res.status, path).toBe(403);
    }
    expect(await dsrCount()).toBe(before);
    // Another tenant's message is not shown.
    const foreign = await fetch(`${base}/dashboard/messages/msg_0`, {
      headers: { cookie: cookie ?? "" },
    });
    expect(await foreign.text()).toContain("No message of yours has this id");
    // A forged session cookie shows the sign-in page; so do the workbench's pages and the export.
    for (const path of [
      "/dashboard",
      "/dashboard/subject",
      "/dashboard/log",
      `/dashboard/messages/${messageId}`,
    ]) {
      const res = await fetch(`${base}${path}`, {
        headers: { cookie: "grounds_dashboard=forged" },
      });
      expect(await res.text(), path).toContain("Sign in with an API key");
    }
    const exported = await fetch(`${base}/dashboard/export?format=csv`, {
      headers: { cookie: "grounds_dashboard=forged" },
      redirect: "manual",
    });
    expect(exported.status).toBe(303);
  });
});
