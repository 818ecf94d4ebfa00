import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logCheckpoints } from "../../src/db/schema.js";
import { fromBase64 } from "../../src/domain/proof/base64.js";
import { type Receipt, verifyReceipt } from "../../src/domain/proof/receipt.js";
import { parseVerifierKey, splitNote } from "../../src/domain/proof/signed-note.js";
import { anchorDueLogs } from "../../src/services/proofs/anchor-log.js";
import { consentBody, createKey } from "../http/helpers.js";
import { runGrounds } from "../support/cli.js";
import { databaseOf } from "../support/database.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { startTestTsa, type TestTsa } from "../support/tsa-server.js";

/**
 * Anchoring (docs/design.md §6): the latest checkpoint is time-stamped by a real
 * RFC 3161 authority (openssl ts -reply, with a CA made for this test), the
 * token kept, served in receipts, checked by `openssl ts -verify`; a swapped
 * token is named by GET /v1/integrity.
 */

let tsa: TestTsa;
let gw: TestGateway;

beforeAll(async () => {
  tsa = await startTestTsa();
  gw = await startTestGateway({ env: { TSA_URL: tsa.url } });
}, 60_000);
afterAll(async () => {
  await gw?.stop();
  await tsa?.stop();
});

async function tenant(name: string) {
  const { tenantId, key } = await createTenantWithTopics(gw, { name });
  const compliance = await createKey(gw, key, ["compliance:read"]);
  return { tenantId, key, compliance };
}

async function consent(key: string, email: string): Promise<string> {
  const res = await gw.request("/v1/consents", {
    method: "POST",
    key,
    json: consentBody(email, ["tips"], "2026-10-01T10:00:00Z"),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { evidence: { id: string }[] }).evidence[0]?.id ?? "";
}

async function anchor(key: string) {
  const res = await gw.request("/v1/log/anchor", { method: "POST", key });
  expect(res.status).toBe(200);
  return (await res.json()) as { anchored: boolean; treeSize?: number; reason?: string };
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

describe("anchoring with an RFC 3161 authority", () => {
  it("time-stamps SHA-256 of the checkpoint's note text; openssl ts -verify accepts the kept token", async () => {
    const t = await tenant("Anchored");
    const evidenceId = await consent(t.key, "a@anchor.example");
    await consent(t.key, "b@anchor.example");
    expect(await anchor(t.key)).toEqual({
      anchored: true,
      treeSize: 2,
      anchoredAt: new Date(gw.clock()).toISOString(),
      already: false,
    });

    const latest = (await (
      await gw.request("/v1/log/checkpoint", { key: t.compliance })
    ).json()) as {
      checkpoint: string;
      timestamp: string;
      anchoredAt: string;
    };
    expect(latest.anchoredAt).toBe(new Date(gw.clock()).toISOString());
    const text = splitNote(latest.checkpoint)?.text ?? "";
    const verified = await tsa.verify(fromBase64(latest.timestamp), sha256Hex(text));
    expect(verified.output).toContain("Verification: OK");
    // The same token does not time-stamp another text.
    expect((await tsa.verify(fromBase64(latest.timestamp), sha256Hex(`${text}x`))).ok).toBe(false);

    // Anchoring again without growth asks the authority nothing.
    const asked = tsa.answered;
    expect(await anchor(t.key)).toMatchObject({ anchored: true, treeSize: 2, already: true });
    expect(tsa.answered).toBe(asked);

    // The receipt of the first event rests on the anchored checkpoint and carries its token.
    const receipt = (await (
      await gw.request(`/v1/evidence/${evidenceId}/receipt`, { key: t.compliance })
    ).json()) as Receipt;
    expect(receipt.treeSize).toBe(2);
    expect(receipt.timestamp).toBe(latest.timestamp);
    const vkey = parseVerifierKey(
      ((await (await gw.request("/v1/log/key", { key: t.compliance })).json()) as { key: string })
        .key,
    );
    if (!vkey) throw new Error("unparsable verifier key");
    const check = await verifyReceipt(receipt, vkey);
    expect(check.problems).toEqual([]);
    expect(check.anchoredAt).toBeDefined();

    const integrity = (await (await gw.request("/v1/integrity", { key: t.compliance })).json()) as {
      log: { ok: boolean; anchorsChecked: number };
    };
    expect(integrity.log).toMatchObject({ ok: true, anchorsChecked: 1 });
  });

  it("names a swapped timestamp token", async () => {
    const t = await tenant("Swapped token");
    await consent(t.key, "s1@anchor.example");
    expect(await anchor(t.key)).toMatchObject({ anchored: true, treeSize: 1 });
    await consent(t.key, "s2@anchor.example");
    expect(await anchor(t.key)).toMatchObject({ anchored: true, treeSize: 2 });
    const db = databaseOf(gw);
    const rows = await db
      .select({ size: logCheckpoints.size, anchor: logCheckpoints.anchor })
      .from(logCheckpoints)
      .where(eq(logCheckpoints.tenantId, t.tenantId))
      .orderBy(logCheckpoints.size);
    const [one, two] = rows;
    const at = (size: number) =>
      and(eq(logCheckpoints.tenantId, t.tenantId), eq(logCheckpoints.size, size));
    await db
      .update(logCheckpoints)
      .set({ anchor: two?.anchor ?? null })
      .where(at(1));
    await db
      .update(logCheckpoints)
      .set({ anchor: one?.anchor ?? null })
      .where(at(2));
    const integrity = (await (await gw.request("/v1/integrity", { key: t.compliance })).json()) as {
      ok: boolean;
      log: { firstBadCheckpoint?: { size: number; problem: string } };
    };
    expect(integrity.ok).toBe(false);
    expect(integrity.log.firstBadCheckpoint).toEqual({ size: 1, problem: "token-mismatch" });
  });

  it("keeps nothing when the authority fails, and anchors periodically only a log that grew", async () => {
    const t = await tenant("Periodic");
    await consent(t.key, "p1@anchor.example");
    tsa.failWith(503);
    try {
      expect(await anchor(t.key)).toEqual({ anchored: false, reason: "tsa-failed" });
    } finally {
      tsa.failWith(0);
    }
    const db = databaseOf(gw);
    const anchored = async () =>
      (
        await db
          .select({ size: logCheckpoints.size })
          .from(logCheckpoints)
          .where(eq(logCheckpoints.tenantId, t.tenantId))
      ).length > 0 &&
      (
        await db
          .select({ size: logCheckpoints.size, anchor: logCheckpoints.anchor })
          .from(logCheckpoints)
          .where(eq(logCheckpoints.tenantId, t.tenantId))
      )
        .filter((r) => r.anchor !== null)
        .map((r) => r.size);
    expect(await anchored()).toEqual([]);

    // Never anchored: due at once.
    await anchorDueLogs(gw.deps);
    expect(await anchored()).toEqual([1]);
    // Grown, but the last anchor is not an interval old: not yet.
    await consent(t.key, "p2@anchor.example");
    await anchorDueLogs(gw.deps);
    expect(await anchored()).toEqual([1]);
    gw.clock.advance(61 * 60_000);
    await anchorDueLogs(gw.deps);
    expect(await anchored()).toEqual([1, 2]);
    // An interval later without growth: nothing more.
    gw.clock.advance(61 * 60_000);
    const asked = tsa.answered;
    await anchorDueLogs(gw.deps);
    expect(tsa.answered).toBe(asked);
  });

  it("a person's proof pack holds a receipt per record, and `grounds verify-receipt` checks it offline", async () => {
    const t = await tenant("Proof pack");
    const send = await createKey(gw, t.key, ["send"]);
    await consent(t.key, "Pack@Anchor.example");
    await consent(t.key, "other@anchor.example");
    const sent = await gw.request("/v1/messages", {
      method: "POST",
      key: send,
      json: {
        topic: "tips",
        from: { email: "news@optika.example" },
        subject: "Hello",
        text: "Hello.",
        recipients: [{ email: "pack@anchor.example" }, { email: "other@anchor.example" }],
      },
    });
    // Both consented: 202 while the queue delivers (docs/design.md §7).
    expect(sent.status).toBe(202);
    await deliveriesDone(gw);
    expect(await anchor(t.key)).toMatchObject({ anchored: true, treeSize: 4 });

    const res = await gw.request("/v1/subjects/pack%40anchor.example/proofs", {
      key: t.compliance,
    });
    expect(res.status).toBe(200);
    const pack = (await res.json()) as {
      format: string;
      verifierKey: string;
      summary: string[];
      receipts: { kind: string; receipt: Receipt }[];
    };
    expect(pack.format).toBe("grounds-proof-pack/1");
    expect(pack.receipts.map((r) => r.kind)).toEqual(["evidence", "justification"]);
    expect(pack.summary).toHaveLength(2);
    expect(pack.summary[1]).toMatch(/decision: send/);
    expect(JSON.stringify(pack)).not.toContain("other@anchor.example");
    // Not an access request: none is recorded.
    const access = (await (
      await gw.request("/v1/subjects/pack%40anchor.example", { key: t.compliance })
    ).json()) as { requests?: unknown[] };
    expect(access.requests ?? []).toHaveLength(1);

    const packFile = join(gw.dir, "pack.json");
    writeFileSync(packFile, JSON.stringify(pack));
    const ok = await runGrounds(["verify-receipt", packFile, "--key", pack.verifierKey]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/OK: evidence .* time-stamped/);
    expect(ok.stdout).toMatch(/OK: justification .* time-stamped/);

    const receiptFile = join(gw.dir, "receipt.json");
    const changed = structuredClone(pack.receipts[1]?.receipt) as Receipt;
    (changed.entry as { decision: string }).decision = "suppress";
    writeFileSync(receiptFile, JSON.stringify(changed));
    const bad = await runGrounds(["verify-receipt", receiptFile, "--key", pack.verifierKey]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("not at leafIndex");
    const usage = await runGrounds(["verify-receipt", receiptFile, "--key", "nonsense"]);
    expect(usage.code).toBe(2);
  }, 60_000);
});
