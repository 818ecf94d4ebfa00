import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decisionOf } from "../http/helpers.js";
import { consentTo, mailedToken, type Services } from "../recipients/helpers.js";
import { closeDatabaseOf } from "../support/database.js";
import { createTenantWithTopics, TENANT } from "../support/gateway.js";
import { multipartMessage, plainMessage, questionMessage } from "../support/mailto-messages.js";
import { servicesBeside } from "../support/runtimes.js";
import { startTestWorker, type TestWorker } from "../support/worker.js";

/**
 * The Email Worker (Cloudflare Email Routing) inside workerd: a mail to the
 * tenant's unsubscribe address is handed to the Worker's `email` handler
 * (wrangler's local `/cdn-cgi/handler/email`, as Email Routing would), and a
 * genuine token in it stops the next send.
 */

let dir: string;
let worker: TestWorker;
let services: Services & { close(): void };
let key: string;
let tenantId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-email-"));
  worker = await startTestWorker({ dbPath: join(dir, "grounds.db") });
  services = await servicesBeside(worker);
  ({ key, tenantId } = await createTenantWithTopics(worker));
}, 60_000);

afterAll(async () => {
  services?.close();
  await worker?.stop();
  if (worker) closeDatabaseOf(worker);
  rmSync(dir, { recursive: true, force: true });
});

/** What Email Routing does with a mail to `to`: runs the Worker's `email` handler on it. */
function route(raw: string, from: string, to: string) {
  const url = new URL("/cdn-cgi/handler/email", worker.url);
  url.searchParams.set("from", from);
  url.searchParams.set("to", to);
  return fetch(url, { method: "POST", body: raw });
}

describe("the Email Worker", () => {
  it.each([
    ["plain", plainMessage],
    ["multipart", multipartMessage],
  ])(
    "records a %s mailed unsubscribe, and the next send leaves the person out",
    async (name, build) => {
      const email = `${name}@email-worker.example`;
      await consentTo(services, tenantId, email, ["tips"]);
      const { token } = await mailedToken(worker, key, email);
      const res = await route(build(email, TENANT.contactEmail, token), email, TENANT.contactEmail);
      expect(res.status, await res.clone().text()).toBe(200);
      expect((await decisionOf(worker, key, email, "tips")).reasons).toEqual(["objected"]);
    },
  );

  it("keeps a mail without a token, and rejects mail to an address no tenant has", async () => {
    const email = "asking@email-worker.example";
    await consentTo(services, tenantId, email, ["tips"]);
    const kept = await route(
      questionMessage(email, TENANT.contactEmail),
      email,
      TENANT.contactEmail,
    );
    expect(kept.status).toBe(200);
    expect((await decisionOf(worker, key, email, "tips")).decision).toBe("send");
    const nobody = await route(
      questionMessage(email, "nobody@optika.example"),
      email,
      "nobody@optika.example",
    );
    // Email Routing refuses it (wrangler answers what the Worker rejected with).
    expect(await nobody.text()).toMatch(/reject/i);
    expect(nobody.status).not.toBe(200);
  });
});
