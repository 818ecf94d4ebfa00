import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainCheckpoints, justifications } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { type ExportHeader, ExportVerifier } from "../../src/domain/proof/export-format.js";
import { subjectKeyOf } from "../../src/services/deps.js";
import { runRetention } from "../../src/services/proofs/run-retention.js";
import { consentData, seedEvidence } from "../messages/seed.js";
import { OPERATOR_TOKEN, startTestGateway, type TestGateway } from "../support/gateway.js";
import { appendMany, tenantWithKeys } from "./support.js";

/** Retention: expired proofs removed from the chain's start, a checkpoint kept, the rest verifying. */

const DAY = 86_400_000;
let gw: TestGateway;
let t: Awaited<ReturnType<typeof tenantWithKeys>>;
let other: Awaited<ReturnType<typeof tenantWithKeys>>;

beforeAll(async () => {
  gw = await startTestGateway();
  t = await tenantWithKeys(gw, "Optika");
  other = await tenantWithKeys(gw, "Other");
  const topic = await gw.request("/v1/topics", {
    method: "POST",
    key: t.admin,
    json: { id: "tips", name: "Tips", class: "marketing", categories: ["accessories"] },
  });
  expect(topic.status).toBe(201);
  // Fewer than 1,096 days: only the operator may (docs/design.md §5).
  const settings = await gw.request(`/v1/tenants/${t.tenantId}/settings`, {
    method: "PATCH",
    key: OPERATOR_TOKEN,
    json: { retention: { proofDays: 30, consentLifetimeMonths: 6 } },
  });
  expect(settings.status).toBe(200);
  // One a day for 100 days: the first 70 are past 30 days.
  const now = gw.clock();
  await appendMany(gw, t.tenantId, 100, (i) => ({ decidedAt: now - (100 - i) * DAY + 1000 }));
  await appendMany(gw, other.tenantId, 100, (i) => ({ decidedAt: now - (100 - i) * DAY + 1000 }));
  await seedEvidence(gw, t.tenantId, [
    {
      email: "fresh@example.com",
      kind: "consent-granted",
      topic: "tips",
      at: now - 30 * DAY,
      data: consentData,
    },
    {
      email: "lapsed@example.com",
      kind: "consent-granted",
      topic: "tips",
      at: now - 400 * DAY,
      data: consentData,
    },
    {
      email: "objected@example.com",
      kind: "consent-granted",
      topic: "tips",
      at: now - 30 * DAY,
      data: consentData,
    },
    {
      email: "objected@example.com",
      kind: "objection",
      topic: "*",
      at: now - DAY,
      data: { channel: "email" },
    },
  ]);
}, 30_000);
afterAll(async () => gw.stop());

const keyOf = (email: string) => subjectKeyOf(gw.deps, t.tenantId, normaliseAddress(email));

describe("runRetention", () => {
  it("removes the proofs past the tenant's retention from the chain's start and keeps a checkpoint", async () => {
    const results = await runRetention(gw.deps, gw.clock());
    const mine = results.find((r) => r.tenantId === t.tenantId);
    const theirs = results.find((r) => r.tenantId === other.tenantId);
    expect(mine?.removed).toBe(70);
    expect(theirs?.removed).toBe(0); // the default: 3 years
    const rest = await gw.deps.db
      .select({ seq: justifications.seq, prevHash: justifications.prevHash })
      .from(justifications)
      .where(eq(justifications.tenantId, t.tenantId))
      .orderBy(asc(justifications.seq));
    expect(rest.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 71 + i));
    const [checkpoint] = await gw.deps.db
      .select()
      .from(chainCheckpoints)
      .where(eq(chainCheckpoints.tenantId, t.tenantId));
    expect(checkpoint).toMatchObject({ seq: 70, hash: rest[0]?.prevHash });
    expect(mine?.checkpoint).toEqual({ seq: 70, hash: rest[0]?.prevHash });
  });

  it("leaves a chain that GET /v1/integrity and an export still verify, from the checkpoint", async () => {
    const integrity = await (await gw.request("/v1/integrity", { key: t.compliance })).json();
    expect(integrity).toMatchObject({
      ok: true,
      chains: [
        { rows: 30, start: { seq: 70 }, head: { seq: 100 }, ok: true },
        // Retention removes no evidence: its chain still verifies whole.
        { name: "evidence", start: { seq: 0 }, ok: true, unchained: 0 },
      ],
    });
    const text = await (await gw.request("/v1/proofs", { key: t.compliance })).text();
    const [first, ...lines] = text.trim().split("\n");
    const header = JSON.parse(first ?? "{}") as ExportHeader;
    expect(header.start.seq).toBe(70);
    const verifier = new ExportVerifier();
    verifier.header(header);
    for (const line of lines) verifier.record(JSON.parse(line));
    expect(verifier.finish()).toMatchObject({ ok: true, rows: 30 });
    // A change after the checkpoint is still detected.
    await gw.deps.db
      .update(justifications)
      .set({ topic: "other" })
      .where(and(eq(justifications.tenantId, t.tenantId), eq(justifications.seq, 71)));
    const broken = await (await gw.request("/v1/integrity", { key: t.compliance })).json();
    expect(broken).toMatchObject({
      ok: false,
      chains: [{ break: { seq: 71, problem: "hash-mismatch" } }, { name: "evidence", ok: true }],
    });
    await gw.deps.db
      .update(justifications)
      .set({ topic: "tips" })
      .where(and(eq(justifications.tenantId, t.tenantId), eq(justifications.seq, 71)));
  });

  it("removes nothing more on a second run, and moves the checkpoint as time passes", async () => {
    const again = await runRetention(gw.deps, gw.clock());
    expect(again.find((r) => r.tenantId === t.tenantId)?.removed).toBe(0);
    const later = await runRetention(gw.deps, gw.clock() + 10 * DAY);
    expect(later.find((r) => r.tenantId === t.tenantId)).toMatchObject({
      removed: 10,
      checkpoint: { seq: 80 },
    });
    const integrity = await (await gw.request("/v1/integrity", { key: t.compliance })).json();
    expect(integrity).toMatchObject({
      ok: true,
      chains: [
        { rows: 20, start: { seq: 80 } },
        { name: "evidence", ok: true },
      ],
    });
  });

  it("reports the subjects who no longer have any basis", async () => {
    const [mine] = (await runRetention(gw.deps, gw.clock())).filter(
      (r) => r.tenantId === t.tenantId,
    );
    expect(mine?.withoutBasis.subjects.sort()).toEqual(
      [keyOf("lapsed@example.com"), keyOf("objected@example.com")].sort(),
    );
    expect(mine?.withoutBasis.count).toBe(2);
  });
});
