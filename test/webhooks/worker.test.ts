import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { tenantSendGridKey } from "../../src/services/settings/tenant-sendgrid-key.js";
import { consentBody, type DecisionBody, expectProblem } from "../http/helpers.js";
import { createTenantWithTopics, OPERATOR_TOKEN, SECRET } from "../support/gateway.js";
import { startTestWorker, type TestWorker } from "../support/worker.js";
import {
  addJustification,
  justificationRow,
  patchSettings,
  postWebhook,
  sgEvent,
  webhookKeys,
} from "./helpers.js";

/**
 * The webhook on Workers: the Worker bundle in workerd verifies SendGrid's
 * DER signature with WebCrypto and writes over libSQL HTTP; the Node gateway
 * on the same database opens the API key the Worker sealed (the same
 * GROUNDS_SECRET gives the same settings key).
 */

let dir: string;
let worker: TestWorker;
let node: Awaited<ReturnType<typeof createNodeGateway>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-webhook-worker-"));
  const dbPath = join(dir, "grounds.db");
  worker = await startTestWorker({ dbPath });
  node = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${dbPath}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    }),
  );
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  node?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the SendGrid webhook in workerd", () => {
  it("verifies, applies once, and refuses a forgery", async () => {
    const { tenantId, key } = await createTenantWithTopics(worker);
    const keys = await webhookKeys();
    await patchSettings(worker, key, {
      sendgrid: { webhookPublicKey: keys.publicKey, apiKey: "SG.worker-sealed.key" },
    });
    expect(await tenantSendGridKey(node.deps, tenantId)).toBe("SG.worker-sealed.key");

    const email = "reader@example.com";
    const consent = await worker.request("/v1/consents", {
      method: "POST",
      key,
      json: consentBody(email, ["tips"], new Date(Date.now() - 86_400_000).toISOString()),
    });
    expect(consent.status).toBe(201);
    const jid = await addJustification(
      { deps: node.deps, clock: Date.now },
      tenantId,
      email,
      "tips",
    );
    const events = [
      sgEvent("delivered", jid, email, Date.now() - 60_000),
      sgEvent("spamreport", jid, email, Date.now() - 30_000),
    ];
    const body = JSON.stringify(events);
    await expectProblem(
      await postWebhook(worker, tenantId, keys, body.replace("spamreport", "spamrepore"), {
        signBody: body,
      }),
      401,
      "invalid-signature",
    );
    const res = await postWebhook(worker, tenantId, keys, body);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ applied: 2, evidence: 1 });
    const again = await postWebhook(worker, tenantId, keys, body);
    expect(await again.json()).toMatchObject({ duplicates: 2, applied: 0 });
    expect((await justificationRow(node, jid)).status).toBe("delivered");
    const decision = await worker.request(
      `/v1/subjects/${encodeURIComponent(email)}/decision?topic=tips`,
      { key },
    );
    expect(((await decision.json()) as DecisionBody).reasons).toEqual(["spam-complaint"]);
  });
});
