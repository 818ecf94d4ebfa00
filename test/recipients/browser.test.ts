import { mkdirSync, mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { outboxOfMessage } from "../support/outbox.js";
import { consentTo, decisionOf, evidenceOf, mailedToken } from "./helpers.js";

/**
 * A real browser — Debian's Chromium, driven by playwright-core — clicking
 * through what a recipient does: unsubscribe from the page, change a
 * preference, confirm a double opt-in; in English on a desktop window and in
 * Czech on a phone, with JavaScript switched off (the pages need none).
 *
 * Without Chromium this test fails, on purpose: install it with
 * `apt-get install chromium` (scripts/ensure-chromium.sh), or point
 * CHROMIUM_PATH at a Chromium binary.
 */

const SCREENSHOTS =
  process.env.GROUNDS_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "grounds-screenshots-"));

let gw: TestGateway;
let key: string;
let tenantId: string;
let server: ReturnType<typeof serve>;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
  server = serve({ fetch: gw.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // launch() gives the browser a fresh, temporary profile (user data dir) of its own.
  browser = await launchChromium();
  console.log(`[browser test] screenshots in ${SCREENSHOTS}`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await gw?.stop();
});

/** A link as mailed (PUBLIC_URL), pointed at the server of this test. */
const local = (url: string) => url.replace(/^https?:\/\/[^/]+/, baseUrl);

const SETTINGS = {
  en: {
    context: { locale: "en-GB", viewport: { width: 1024, height: 800 } },
    unsubscribe: "Unsubscribe from Tips",
    unsubscribed: "you are unsubscribed from “Tips”",
    save: "Save preferences",
    saved: "Your preferences are saved",
    confirm: "Confirm my subscription",
    confirmed: "Subscription confirmed",
  },
  cs: {
    // A phone: narrow, touch, high density.
    context: {
      locale: "cs-CZ",
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    },
    unsubscribe: "Odhlásit odběr: Tips",
    unsubscribed: "odběr „Tips“ je odhlášen",
    save: "Uložit nastavení",
    saved: "Nastavení je uloženo",
    confirm: "Potvrzuji přihlášení k odběru",
    confirmed: "Odběr je potvrzen",
  },
} as const;

for (const locale of ["en", "cs"] as const) {
  const words = SETTINGS[locale];
  describe(`in a real browser, ${locale}`, () => {
    let context: BrowserContext;
    const elsewhere: string[] = [];

    beforeAll(async () => {
      // JavaScript off: the pages must work without it.
      context = await browser.newContext({ ...words.context, javaScriptEnabled: false });
      context.on("request", (request) => {
        if (!request.url().startsWith(baseUrl)) elsewhere.push(request.url());
      });
    });

    afterAll(async () => {
      await context?.close();
      // No CDN, no font, no tracker: nothing but the gateway was asked for anything.
      expect(elsewhere).toEqual([]);
    });

    it("unsubscribes from the page, then changes a preference", async () => {
      const email = `browser-${locale}@example.cz`;
      await consentTo(gw, tenantId, email, ["tips"]);
      const { url } = await mailedToken(gw, key, email);
      const page = await context.newPage();
      const shot = (name: string) =>
        page.screenshot({ path: join(SCREENSHOTS, `${locale}-${name}.png`), fullPage: true });

      const opened = await page.goto(local(url));
      expect(opened?.status()).toBe(200);
      expect(await page.getAttribute("html", "lang")).toBe(locale);
      await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
        words.unsubscribe,
      );
      await shot("1-unsubscribe-page");

      gw.clock.advance(1000);
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: words.unsubscribe }).click(),
      ]);
      await expect(page.getByRole("status").textContent()).resolves.toContain(words.unsubscribed);
      await shot("2-unsubscribed");
      expect(await decisionOf(gw, key, email, "tips")).toMatchObject({
        decision: "suppress",
        reasons: ["objected"],
      });

      // The preference center: tick "Lens deals", save.
      gw.clock.advance(1000);
      const lensDeals = page.getByRole("checkbox", { name: /Lens deals/ });
      expect(await lensDeals.isChecked()).toBe(false);
      await lensDeals.check();
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: words.save }).click(),
      ]);
      await expect(page.getByRole("status").textContent()).resolves.toContain(words.saved);
      expect(await page.getByRole("checkbox", { name: /Lens deals/ }).isChecked()).toBe(true);
      expect(await page.getByRole("checkbox", { name: /^Tips/ }).isChecked()).toBe(false);
      await shot("3-preferences-saved");
      expect(await decisionOf(gw, key, email, "deals-lenses")).toMatchObject({
        decision: "send",
        basis: "consent",
      });
      const kinds = (await evidenceOf(gw, tenantId, email)).map((e) => [
        e.kind,
        e.topic,
        e.data.channel ?? e.data.method,
        e.personal?.ip,
      ]);
      expect(kinds).toEqual(
        expect.arrayContaining([
          ["objection", "tips", "preference-center", "127.0.0.0"],
          ["consent-granted", "deals-lenses", "preference-center", "127.0.0.0"],
        ]),
      );
      // The keyboard reaches the buttons, and focus is visible.
      await page.keyboard.press("Tab");
      const outline = await page.evaluate(() => {
        const el = document.activeElement;
        return el ? getComputedStyle(el).outlineStyle : "none";
      });
      expect(outline).not.toBe("none");
      await page.close();
    }, 60_000);

    it("confirms a double opt-in", async () => {
      const email = `doi-${locale}@example.cz`;
      const res = await gw.request("/v1/subscriptions", {
        method: "POST",
        key,
        json: {
          email,
          topics: ["deals-lenses"],
          wording: { version: "form-1", text: "Send me lens deals." },
          locale,
        },
      });
      expect(res.status).toBe(202);
      const { confirmation } = (await res.json()) as { confirmation: { messageId: string } };
      await deliveriesDone(gw);
      const [mail] = await outboxOfMessage(gw.deps.db, confirmation.messageId);
      const link = /href="(https?:\/\/[^"]+\/c\/[^"]+)"/.exec(mail?.html ?? "")?.[1];
      if (!link) throw new Error("no confirmation link in the mail");
      const page = await context.newPage();
      const shot = (name: string) =>
        page.screenshot({ path: join(SCREENSHOTS, `${locale}-${name}.png`), fullPage: true });
      expect((await page.goto(local(link.replace(/&amp;/g, "&"))))?.status()).toBe(200);
      expect(await page.getAttribute("html", "lang")).toBe(locale);
      await shot("4-confirm-page");
      expect((await decisionOf(gw, key, email, "deals-lenses")).reasons).toEqual([
        "consent-unconfirmed",
      ]);
      gw.clock.advance(1000);
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: words.confirm }).click(),
      ]);
      await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
        words.confirmed,
      );
      await shot("5-confirmed");
      expect(await decisionOf(gw, key, email, "deals-lenses")).toMatchObject({
        decision: "send",
        basis: "consent",
      });
      const confirmed = (await evidenceOf(gw, tenantId, email)).find(
        (e) => e.kind === "consent-confirmed",
      );
      expect(confirmed?.personal).toMatchObject({ confirmIp: "127.0.0.0" });
      await page.close();
    }, 60_000);
  });
}
