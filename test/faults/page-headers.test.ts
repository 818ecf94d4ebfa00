import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withStaticAssets } from "../../src/entry/node-gateway.js";
import { launchChromium } from "../support/chromium.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * Issue 16 item 9: `/outbox` and `/docs` had no Content-Security-Policy and
 * no frame protection. Both now say what they may load and that no other
 * site may frame them — and both still work in a real browser under it, with
 * no violation reported.
 */

let gw: TestGateway;
let server: ReturnType<typeof serve>;
let baseUrl: string;
let browser: Browser;
let key: string;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key } = await createTenantWithTopics(gw));
  server = serve({ fetch: withStaticAssets(gw.app).fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await gw?.stop();
});

/** A page that records every CSP violation, its frames' too. */
async function watchedPage(): Promise<{ page: Page; violations: string[] }> {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return { page, violations };
}

describe.each(["/docs", "/outbox"])("GET %s", (path) => {
  it("forbids framing and restricts what the page loads", async () => {
    const res = await fetch(`${baseUrl}${path}`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("the pages under their policies", () => {
  it("/docs still renders the API reference, with no violation", async () => {
    const { page, violations } = await watchedPage();
    await page.goto(`${baseUrl}/docs`);
    await page.getByRole("heading", { name: "Grounds" }).first().waitFor({ timeout: 30_000 });
    expect(await page.getByText("Evidence", { exact: true }).first().isVisible()).toBe(true);
    expect(violations).toEqual([]);
    await page.close();
  }, 60_000);

  it("/outbox still lists the mail, its HTML in a frame, with no violation", async () => {
    const sent = await gw.request("/v1/messages", {
      method: "POST",
      key,
      json: {
        topic: "invoices",
        from: { email: "shop@optika.example" },
        subject: "Your invoice",
        html: '<p style="color: #123456">Invoice <b>42</b></p>',
        recipients: [{ email: "buyer@example.cz" }],
      },
    });
    // 202 while the queue delivers (docs/design.md §7): wait for the outbox copy.
    expect(sent.status).toBe(202);
    await deliveriesDone(gw);
    const { page, violations } = await watchedPage();
    await page.goto(`${baseUrl}/outbox`);
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Show messages" }).click();
    await page.getByText("1 message(s), newest first.").waitFor({ timeout: 10_000 });
    const frame = page.frameLocator("iframe").first();
    const invoice = frame.getByText("Invoice");
    await invoice.waitFor({ timeout: 10_000 });
    // The mail's own inline style applies inside the frame.
    expect(await invoice.evaluate((node) => getComputedStyle(node).color)).toBe("rgb(18, 52, 86)");
    expect(violations).toEqual([]);
    await page.close();
  }, 60_000);

  it("another site cannot frame /outbox", async () => {
    const { page } = await watchedPage();
    // A page of another origin (a data: URL is opaque) framing the outbox.
    await page.setContent(`<iframe src="${baseUrl}/outbox"></iframe>`);
    await page.waitForTimeout(500);
    const framed = page.frames().find((frame) => frame.url().endsWith("/outbox"));
    const loaded = framed
      ? await framed
          .locator("h1")
          .count()
          .catch(() => 0)
      : 0;
    expect(loaded).toBe(0);
    await page.close();
  }, 60_000);
});
