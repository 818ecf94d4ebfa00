import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  evidence,
  justifications,
  logCheckpoints,
  logEntries,
  logHeads,
  logNodes,
} from "../../src/db/schema.js";
import { fromBase64 } from "../../src/domain/proof/base64.js";
import { parseCheckpoint } from "../../src/domain/proof/checkpoint.js";
import { verifyConsistency } from "../../src/domain/proof/merkle.js";
import type { Receipt } from "../../src/domain/proof/receipt.js";
import { verifyReceipt } from "../../src/domain/proof/receipt.js";
import {
  noteSignerFromSeed,
  openNote,
  parseVerifierKey,
  signNote,
} from "../../src/domain/proof/signed-note.js";
import { runRetention } from "../../src/services/proofs/run-retention.js";
import { consentBody, createKey } from "../http/helpers.js";
import { databaseOf } from "../support/database.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * The tenant's Merkle log (docs/design.md §6): every evidence event and justification
 * is an entry; each append leaves a signed checkpoint; receipts verify with
 * the verifier key alone; GET /v1/integrity names what was altered in the
 * database file itself.
 */

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => gw.stop());

interface LogReport {
  ok: boolean;
  size: number;
  entriesChecked: number;
  checkpointsChecked: number;
  firstBadEntry?: { index: number; problem: string; checkpointSize?: number };
  firstBadCheckpoint?: { size: number; problem: string };
}

async function tenant(name: string) {
  const { tenantId, key } = await createTenantWithTopics(gw, { name });
  const compliance = await createKey(gw, key, ["compliance:read", "send"]);
  return { tenantId, key, compliance };
}

async function json<T>(path: string, key: string, init: { method?: string } = {}): Promise<T> {
  const res = await gw.request(path, { key, ...init });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

async function consent(key: string, email: string): Promise<string> {
  const res = await gw.request("/v1/consents", {
    method: "POST",
    key,
    json: consentBody(email, ["tips"], "2026-10-01T10:00:00Z"),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { evidence: { id: string }[] };
  return (body.evidence[0] as { id: string }).id;
}

async function send(key: string, emails: string[]) {
  const res = await gw.request("/v1/messages", {
    method: "POST",
    key,
    json: {
      topic: "tips",
      from: { email: "news@optika.example" },
      subject: "Hello",
      text: "Hello.",
      recipients: emails.map((email) => ({ email })),
    },
  });
  // 202 while the queue delivers (docs/design.md §7), 200 when nothing is to be delivered.
  expect([200, 202]).toContain(res.status);
  await deliveriesDone(gw);
  return (await res.json()) as { results: { email: string; justificationId: string }[] };
}

async function verifier(key: string) {
  const { key: vkey } = await json<{ key: string }>("/v1/log/key", key);
  const parsed = parseVerifierKey(vkey);
  if (!parsed) throw new Error("unparsable verifier key");
  return parsed;
}

async function logReport(key: string): Promise<LogReport> {
  const res = await gw.request("/v1/integrity", { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { log: LogReport }).log;
}

describe("the tenant's Merkle log", () => {
  it("makes every evidence event and justification an entry, with a signed checkpoint after each append", async () => {
    const t = await tenant("Log basics");
    await consent(t.key, "a@log.example");
    await consent(t.key, "b@log.example");
    const sent = await send(t.key, ["a@log.example", "b@log.example", "c@log.example"]);
    expect(sent.results).toHaveLength(3);

    const latest = await json<{ checkpoint: string; treeSize: number; rootHash: string }>(
      "/v1/log/checkpoint",
      t.compliance,
    );
    // Two consents (an entry each), then three justifications in one append.
    expect(latest.treeSize).toBe(5);
    const vkey = await verifier(t.compliance);
    const text = await openNote(latest.checkpoint, vkey);
    expect(text).not.toBeNull();
    const checkpoint = parseCheckpoint(text ?? "");
    expect(checkpoint?.origin).toBe(`localhost:8787/grounds/${t.tenantId}`);
    expect(checkpoint?.size).toBe(5);

    // The public checkpoint is the same note, as text.
    const pub = await gw.request(`/log/${t.tenantId}/checkpoint`);
    expect(pub.status).toBe(200);
    expect(pub.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await pub.text()).toBe(latest.checkpoint);
    expect((await gw.request("/log/no-such-tenant/checkpoint")).status).toBe(404);

    // A checkpoint after each append: sizes 1, 2, 5.
    const db = databaseOf(gw);
    const sizes = await db
      .select({ size: logCheckpoints.size })
      .from(logCheckpoints)
      .where(eq(logCheckpoints.tenantId, t.tenantId))
      .orderBy(logCheckpoints.size);
    expect(sizes.map((s) => s.size)).toEqual([1, 2, 5]);

    const report = await logReport(t.compliance);
    expect(report).toMatchObject({ ok: true, size: 5, entriesChecked: 5, checkpointsChecked: 3 });
  });

  it("answers receipts that verify with the verifier key alone, and reveal no other recipient", async () => {
    const t = await tenant("Receipts");
    const evidenceId = await consent(t.key, "r1@log.example");
    const sent = await send(t.key, ["r1@log.example", "r2@log.example"]);
    const vkey = await verifier(t.compliance);
    const first = sent.results[0] as { justificationId: string };
    const receipt = await json<Receipt>(
      `/v1/justifications/${first.justificationId}/receipt`,
      t.compliance,
    );
    expect(receipt).toMatchObject({ format: "grounds-receipt/1", treeSize: 3 });
    expect(receipt.entry).toMatchObject({ type: "justification", id: first.justificationId });
    expect(JSON.stringify(receipt)).not.toContain("r2@log.example");
    expect(JSON.stringify(receipt)).not.toContain("r1@log.example");
    expect(await verifyReceipt(receipt, vkey)).toMatchObject({ ok: true });

    const evidenceReceipt = await json<Receipt>(`/v1/evidence/${evidenceId}/receipt`, t.compliance);
    expect(evidenceReceipt.entry).toMatchObject({ type: "evidence", id: evidenceId });
    expect(await verifyReceipt(evidenceReceipt, vkey)).toMatchObject({ ok: true });

    // A changed entry, a moved index, a forged checkpoint: each fails.
    const changed = structuredClone(receipt);
    (changed.entry as { decision: string }).decision = "suppress";
    expect((await verifyReceipt(changed, vkey)).ok).toBe(false);
    expect((await verifyReceipt({ ...receipt, leafIndex: receipt.leafIndex + 1 }, vkey)).ok).toBe(
      false,
    );
    const otherKey = await noteSignerFromSeed(vkey.name, new Uint8Array(32).fill(7));
    const forgedNote = await signNote((await openNote(receipt.checkpoint, vkey)) ?? "", otherKey);
    expect((await verifyReceipt({ ...receipt, checkpoint: forgedNote }, vkey)).ok).toBe(false);

    // Another tenant's records are not found.
    const other = await tenant("Receipts, other");
    const res = await gw.request(`/v1/justifications/${first.justificationId}/receipt`, {
      key: other.compliance,
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("proves consistency between two sizes (RFC 9162 §2.1.4)", async () => {
    const t = await tenant("Consistency");
    for (let i = 0; i < 6; i++) await consent(t.key, `c${i}@log.example`);
    const db = databaseOf(gw);
    const notes = await db
      .select({ size: logCheckpoints.size, note: logCheckpoints.note })
      .from(logCheckpoints)
      .where(eq(logCheckpoints.tenantId, t.tenantId))
      .orderBy(logCheckpoints.size);
    const vkey = await verifier(t.compliance);
    const roots = new Map<number, Uint8Array>();
    for (const { size, note } of notes) {
      const parsed = parseCheckpoint((await openNote(note, vkey)) ?? "");
      if (parsed) roots.set(size, parsed.root);
    }
    const { proof } = await json<{ proof: string[] }>(
      "/v1/log/consistency?from=3&to=6",
      t.compliance,
    );
    const root3 = roots.get(3) as Uint8Array;
    const root6 = roots.get(6) as Uint8Array;
    expect(
      verifyConsistency(
        3,
        6,
        root3,
        root6,
        proof.map((p) => fromBase64(p)),
      ),
    ).toBe(true);
    expect(
      verifyConsistency(
        3,
        6,
        root6,
        root6,
        proof.map((p) => fromBase64(p)),
      ),
    ).toBe(false);
    const bad = await gw.request("/v1/log/consistency?from=4&to=7", { key: t.compliance });
    expect(bad.status).toBe(400);
    expect(
      (await gw.request("/v1/log/consistency?from=x&to=2", { key: t.compliance })).status,
    ).toBe(400);
  });

  it("does nothing on POST /v1/log/anchor without TSA_URL", async () => {
    const t = await tenant("No TSA");
    await consent(t.key, "n@log.example");
    const res = await gw.request("/v1/log/anchor", { method: "POST", key: t.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ anchored: false, reason: "no-tsa" });
    expect((await gw.request("/v1/log/anchor", { method: "POST", key: t.compliance })).status).toBe(
      403,
    );
  });
});

describe("tampering with the database file is named by GET /v1/integrity", () => {
  async function logged(name: string) {
    const t = await tenant(name);
    for (let i = 0; i < 3; i++) await consent(t.key, `${name.length}-${i}@tamper.example`);
    await send(t.key, ["x@tamper.example", "y@tamper.example", "z@tamper.example"]);
    expect((await logReport(t.compliance)).ok).toBe(true);
    return t;
  }
  const db = () => databaseOf(gw);
  const at = (tenantId: string, idx: number) =>
    and(eq(logEntries.tenantId, tenantId), eq(logEntries.idx, idx));

  it("a changed entry (its bytes no longer hash to its leaf)", async () => {
    const t = await logged("Changed entry");
    await db()
      .update(logEntries)
      .set({ content: sql`replace(${logEntries.content}, '"v":1', '"v":2')` })
      .where(at(t.tenantId, 4));
    expect((await logReport(t.compliance)).firstBadEntry).toEqual({ index: 4, problem: "changed" });
  });

  it("a changed entry with its leaf hash recomputed: the row it records, and the signed root, disagree", async () => {
    const t = await logged("Rehashed entry");
    const [row] = await db().select().from(logEntries).where(at(t.tenantId, 1));
    const content = (row?.content ?? "").replace('"consent-granted"', '"consent-withdrawn"');
    const leaf = createHash("sha256")
      .update(Buffer.from([0]))
      .update(content)
      .digest("hex");
    await db().update(logEntries).set({ content, leaf }).where(at(t.tenantId, 1));
    const report = await logReport(t.compliance);
    expect(report.firstBadEntry).toEqual({ index: 1, problem: "differs-from-record" });
  });

  it("a deleted entry", async () => {
    const t = await logged("Deleted entry");
    await db().delete(logEntries).where(at(t.tenantId, 2));
    expect((await logReport(t.compliance)).firstBadEntry).toEqual({ index: 2, problem: "missing" });
  });

  it("an inserted entry beyond the head", async () => {
    const t = await logged("Inserted entry");
    await db()
      .insert(logEntries)
      .values({
        tenantId: t.tenantId,
        idx: 6,
        kind: "evidence",
        ref: null,
        leaf: "00".repeat(32),
        content: null,
      });
    expect((await logReport(t.compliance)).firstBadEntry).toEqual({
      index: 6,
      problem: "unexpected",
    });
  });

  it("two entries reordered (their indices swapped)", async () => {
    const t = await logged("Reordered");
    await db().update(logEntries).set({ idx: -1 }).where(at(t.tenantId, 3));
    await db().update(logEntries).set({ idx: 3 }).where(at(t.tenantId, 4));
    await db().update(logEntries).set({ idx: 4 }).where(at(t.tenantId, -1));
    expect((await logReport(t.compliance)).firstBadEntry).toEqual({
      index: 3,
      problem: "differs-from-record",
    });
  });

  it("a rewritten checkpoint, and a forged signature", async () => {
    const t = await logged("Checkpoint");
    const [cp] = await db()
      .select()
      .from(logCheckpoints)
      .where(and(eq(logCheckpoints.tenantId, t.tenantId), eq(logCheckpoints.size, 2)));
    const note = cp?.note ?? "";
    // Another root under the old signature.
    const lines = note.split("\n");
    lines[2] = Buffer.alloc(32, 1).toString("base64");
    await db()
      .update(logCheckpoints)
      .set({ note: lines.join("\n") })
      .where(and(eq(logCheckpoints.tenantId, t.tenantId), eq(logCheckpoints.size, 2)));
    expect((await logReport(t.compliance)).firstBadCheckpoint).toEqual({
      size: 2,
      problem: "bad-signature",
    });
    // Signed by a key that is not the installation's.
    const forger = await noteSignerFromSeed("localhost:8787/grounds", new Uint8Array(32).fill(9));
    const forged = await signNote(`${lines.slice(0, 3).join("\n")}\n`, forger);
    await db()
      .update(logCheckpoints)
      .set({ note: forged })
      .where(and(eq(logCheckpoints.tenantId, t.tenantId), eq(logCheckpoints.size, 2)));
    expect((await logReport(t.compliance)).firstBadCheckpoint).toEqual({
      size: 2,
      problem: "bad-signature",
    });
  });
});

describe("retention and upgrading", () => {
  it("retention removes an entry's content, keeps its leaf hash; other receipts still verify", async () => {
    const t = await tenant("Retention");
    const evidenceId = await consent(t.key, "keep@log.example");
    const sent = await send(t.key, ["keep@log.example", "old@log.example"]);
    const vkey = await verifier(t.compliance);
    gw.clock.advance(1100 * 86_400_000);
    await runRetention(gw.deps, gw.clock());
    const db = databaseOf(gw);
    const entries = await db
      .select({ idx: logEntries.idx, content: logEntries.content, leaf: logEntries.leaf })
      .from(logEntries)
      .where(eq(logEntries.tenantId, t.tenantId))
      .orderBy(logEntries.idx);
    expect(entries.map((e) => e.content === null)).toEqual([false, true, true]);
    expect(entries.every((e) => /^[0-9a-f]{64}$/.test(e.leaf))).toBe(true);
    const justificationId = sent.results[0]?.justificationId;
    const gone = await gw.request(`/v1/justifications/${justificationId}/receipt`, {
      key: t.compliance,
    });
    expect(gone.status).toBe(404);
    const receipt = await json<Receipt>(`/v1/evidence/${evidenceId}/receipt`, t.compliance);
    expect(await verifyReceipt(receipt, vkey)).toMatchObject({ ok: true });
    const report = await logReport(t.compliance);
    expect(report).toMatchObject({ ok: true, entriesChecked: 3, prunedEntries: 2 });
  });

  it("a database whose proofs are per-row chains gets a log whose first entry commits to their heads", async () => {
    // A tenant as the version before the log left it: chained rows, no log.
    const t = await tenant("Upgrade");
    await consent(t.key, "u1@log.example");
    await send(t.key, ["u1@log.example"]);
    const db = databaseOf(gw);
    for (const table of [logEntries, logCheckpoints, logHeads, logNodes]) {
      await db.delete(table).where(eq(table.tenantId, t.tenantId));
    }
    await db.update(evidence).set({ leafIndex: null }).where(eq(evidence.tenantId, t.tenantId));
    await db
      .update(justifications)
      .set({ leafIndex: null })
      .where(eq(justifications.tenantId, t.tenantId));

    const next = await consent(t.key, "u2@log.example");
    const [first] = await db
      .select({ content: logEntries.content, kind: logEntries.kind })
      .from(logEntries)
      .where(and(eq(logEntries.tenantId, t.tenantId), eq(logEntries.idx, 0)));
    expect(first?.kind).toBe("chains");
    const opening = JSON.parse(first?.content ?? "{}") as {
      heads: Record<string, { seq: number; hash: string }>;
      verified: boolean;
    };
    expect(opening.verified).toBe(true);
    expect(opening.heads.evidence?.seq).toBe(1);
    expect(opening.heads.justifications?.seq).toBe(1);
    // The new event is entry 1, with a receipt; the old ones have none, and say why.
    const vkey = await verifier(t.compliance);
    const receipt = await json<Receipt>(`/v1/evidence/${next}/receipt`, t.compliance);
    expect(receipt.leafIndex).toBe(1);
    expect(await verifyReceipt(receipt, vkey)).toMatchObject({ ok: true });
    expect((await logReport(t.compliance)).ok).toBe(true);
  });
});
