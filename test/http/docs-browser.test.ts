import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import type { Browser, BrowserContextOptions } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withStaticAssets } from "../../src/entry/node-gateway.js";
import { launchChromium } from "../support/chromium.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * The start page and the API reference in real Chromium. Nothing may be
 * fetched from any origin but the gateway's: the test fails on the first
 * request elsewhere (a CDN, a font, Scalar's servers, telemetry), and on a
 * Content-Security-Policy refusal, which would hide one. Screenshots (desktop
 * and phone) go to test/.tmp/docs.
 */

const SHOTS = fileURLToPath(new URL("../.tmp/docs", import.meta.url));
let gw: TestGateway;
let server: ReturnType<typeof serve>;
let base: string;
let browser: Browser;

const VIEWPORTS: Record<string, BrowserContextOptions> = {
  desktop: { viewport: { width: 1280, height: 900 } },
  phone: {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  },
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  gw = await startTestGateway();
  server = serve({ fetch: withStaticAssets(gw.app).fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await gw?.stop();
});

for (const [name, options] of Object.entries(VIEWPORTS)) {
  describe(`on a ${name}`, () => {
    it("the start page links the reference, the document, the workbench and the local outbox", async () => {
      const context = await browser.newContext(options);
      const page = await context.newPage();
      const elsewhere: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(base)) elsewhere.push(r.url());
      });
      const res = await page.goto(`${base}/`);
      expect(res?.status()).toBe(200);
      const links = await page
        .locator("main a")
        .evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      expect(links).toEqual(["/docs", "/openapi.json", "/dashboard", "/outbox", "/healthz"]);
      await page.screenshot({ path: join(SHOTS, `start-${name}.png`), fullPage: true });
      // Nothing overflows the phone's width.
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(options.viewport?.width ?? 0);
      await page.click("text=API reference");
      await page.waitForURL(`${base}/docs`);
      expect(elsewhere).toEqual([]);
      await context.close();
    }, 60_000);

    it("the API reference renders from this origin alone, with no AI, MCP, share or deploy", async () => {
      const context = await browser.newContext(options);
      const page = await context.newPage();
      const elsewhere: string[] = [];
      const refused: string[] = [];
      page.on("request", (r) => {
        if (
          !r.url().startsWith(base) &&
          !r.url().startsWith("data:") &&
          !r.url().startsWith("blob:")
        )
          elsewhere.push(r.url());
      });
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
      });
      await page.goto(`${base}/docs`);
      // Scalar has rendered the document.
      await page.getByText("Download OpenAPI Document").first().waitFor({ timeout: 30_000 });
      // Open an operation, as a reader does: its examples and code samples render.
      await page.goto(`${base}/docs#tag/evidence/POST/v1/consents`);
      await page.getByText("jana.novak@example.cz").first().waitFor({ timeout: 30_000 });
      // Time for whatever it would fetch next (it keeps a connection busy: no "network idle").
      await page.waitForTimeout(2000);
      await page.screenshot({ path: join(SHOTS, `docs-${name}.png`) });
      const text = (await page.locator("body").textContent()) ?? "";
      for (const feature of [
        /Ask AI/i,
        /Generate MCP/i,
        /\bDeploy\b/,
        /\bShare\b/,
        /Developer Tools/i,
      ]) {
        expect(text, String(feature)).not.toMatch(feature);
      }
      // The curl samples name the server from PUBLIC_URL.
      expect(await page.content()).toContain(gw.deps.publicUrl);
      expect(elsewhere).toEqual([]);
      expect(refused).toEqual([]);
      await context.close();
    }, 90_000);
  });
}
