import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCheckpoint } from "../../src/domain/proof/checkpoint.js";
import { type Receipt, verifyReceipt } from "../../src/domain/proof/receipt.js";
import { openNote, parseVerifierKey } from "../../src/domain/proof/signed-note.js";
import { consentBody, createKey } from "../http/helpers.js";
import { createTenantWithTopics } from "../support/gateway.js";
import { startTestWorker, type TestWorker } from "../support/worker.js";

/**
 * The Merkle log on Workers: workerd's WebCrypto Ed25519 signs the
 * checkpoints (imported from PKCS #8, the public key exported as JWK), and
 * Node verifies them — the same key as the Node gateway derives from the
 * same GROUNDS_SECRET.
 */

let dir: string;
let worker: TestWorker;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-worker-log-"));
  worker = await startTestWorker({ dbPath: join(dir, "grounds.db") });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the Merkle log in workerd", () => {
  it("signs checkpoints with Ed25519 that verify outside it, and answers receipts", async () => {
    const { tenantId, key } = await createTenantWithTopics(worker);
    const compliance = await createKey(worker, key, ["compliance:read"]);
    const res = await worker.request("/v1/consents", {
      method: "POST",
      key,
      json: consentBody("w@log.example", ["tips"], "2026-10-01T10:00:00Z"),
    });
    expect(res.status).toBe(201);
    const { evidence } = (await res.json()) as { evidence: { id: string }[] };

    const keyRes = await worker.request("/v1/log/key", { key: compliance });
    const vkey = parseVerifierKey(((await keyRes.json()) as { key: string }).key);
    if (!vkey) throw new Error("unparsable verifier key");
    const note = await (await worker.request(`/log/${tenantId}/checkpoint`)).text();
    const text = await openNote(note, vkey);
    expect(parseCheckpoint(text ?? "")).toMatchObject({ size: 1 });

    const receiptRes = await worker.request(`/v1/evidence/${evidence[0]?.id}/receipt`, {
      key: compliance,
    });
    expect(receiptRes.status).toBe(200);
    const receipt = (await receiptRes.json()) as Receipt;
    expect(await verifyReceipt(receipt, vkey)).toMatchObject({ ok: true });
  }, 60_000);
});
