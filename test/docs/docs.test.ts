import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withStaticAssets } from "../../src/entry/node-gateway.js";
import { launchChromium } from "../support/chromium.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * `/docs`: the API reference renders in a real browser from this origin
 * alone — the OpenAPI document and the reference's script — with nothing
 * fetched from a CDN.
 */

let gw: TestGateway;
let server: ReturnType<typeof serve>;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  gw = await startTestGateway();
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

describe("GET /docs", () => {
  it("renders the API reference from this origin only", async () => {
    const page = await browser.newPage();
    const origins = new Set<string>();
    page.on("request", (request) => origins.add(new URL(request.url()).origin));
    await page.goto(`${baseUrl}/docs`);
    await page.getByRole("heading", { name: "Grounds" }).first().waitFor({ timeout: 30_000 });
    // The groups of the contract are listed.
    for (const group of ["Tenants", "Evidence", "Decisions", "Sending", "Proofs"]) {
      expect(await page.getByText(group, { exact: true }).first().isVisible(), group).toBe(true);
    }
    await page.screenshot({ path: join(tmpdir(), "grounds-docs.png") });
    expect([...origins].filter((o) => o !== baseUrl && !o.startsWith("data:"))).toEqual([]);
    await page.close();
  }, 60_000);
});
