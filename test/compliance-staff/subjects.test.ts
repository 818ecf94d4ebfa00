import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dsrRequests, evidence, justifications, messages, outbox } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { subjectKeyOf } from "../../src/services/deps.js";
import { oneMonthAfter } from "../../src/services/subjects/dsr-requests.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { tenantWithKeys } from "./support.js";

/** Data-subject rights: access (GDPR Art. 15, 20) and erasure (Art. 17), with their deadlines. */

let gw: TestGateway;
let t: Awaited<ReturnType<typeof tenantWithKeys>>;
let other: Awaited<ReturnType<typeof tenantWithKeys>>;
const ALICE = "Alice.Novak@Example.com";
const BOB = "bob@example.com";

async function send(recipients: string[]) {
  const res = await gw.request("/v1/messages", {
    method: "POST",
    key: t.admin,
    json: {
      topic: "tips",
      from: { email: "news@optika.example", name: "Optika" },
      subject: "Caring for your glasses",
      html: "<html><body><p>Clean them with a soft cloth.</p></body></html>",
      recipients: recipients.map((email) => ({ email })),
    },
  });
  expect([200, 202]).toContain(res.status);
  await gw.idle();
  return (await res.json()) as {
    results: { email: string; decision: string; reasons: string[] }[];
  };
}

beforeAll(async () => {
  gw = await startTestGateway();
  t = await tenantWithKeys(gw, "Optika");
  other = await tenantWithKeys(gw, "Other");
  for (const tenant of [t, other]) {
    const topic = await gw.request("/v1/topics", {
      method: "POST",
      key: tenant.admin,
      json: { id: "tips", name: "Tips", class: "marketing", categories: ["accessories"] },
    });
    expect(topic.status).toBe(201);
  }
  // The admin key holds every scope it needs here (send, evidence:write).
  for (const email of [ALICE, BOB]) {
    const res = await gw.request("/v1/consents", {
      method: "POST",
      key: t.admin,
      json: {
        email,
        topics: ["tips"],
        action: "grant",
        collectedAt: new Date(gw.clock() - 86_400_000).toISOString(),
        source: {
          method: "web-form",
          ip: "203.0.113.77",
          userAgent: "Firefox/140",
          url: "https://optika.example/join",
        },
        wording: { version: "v1", text: "Send me tips." },
        subject: { country: "CZ", birthYear: 1990 },
      },
    });
    expect(res.status).toBe(201);
  }
  const sent = await send([ALICE, BOB]);
  expect(sent.results.map((r) => r.decision)).toEqual(["send", "send"]);
}, 30_000);
afterAll(async () => gw.stop());

describe("GET /v1/subjects/{email} (Art. 15, 20)", () => {
  it("answers everything held about the address, machine-readable, and records the request with its deadline", async () => {
    const res = await gw.request(`/v1/subjects/${encodeURIComponent("alice.novak@example.com")}`, {
      key: t.compliance,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as {
      subject: Record<string, unknown>;
      evidence: { kind: string; personal: Record<string, unknown> | null; hash: string }[];
      decisions: { decision: string; email: string | null; seq: number; hash: string }[];
      suppressions: unknown[];
      request: { kind: string; receivedAt: string; deadline: string; completedAt: string | null };
    };
    expect(body.subject).toMatchObject({ email: ALICE, country: "CZ", birthYear: 1990 });
    const consent = body.evidence.find((e) => e.kind === "consent-granted");
    expect(consent?.personal).toMatchObject({ ip: "203.0.113.0", userAgent: "Firefox/140" });
    expect(consent?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(body.decisions).toHaveLength(1);
    expect(body.decisions[0]).toMatchObject({ decision: "send", email: ALICE });
    expect(body.suppressions).toEqual([]);
    expect(body.request).toEqual({
      id: expect.stringMatching(/^dsr_/),
      subject: expect.any(String),
      kind: "access",
      receivedAt: "2026-11-23T12:00:00.000Z",
      deadline: "2026-12-23T12:00:00.000Z",
      completedAt: "2026-11-23T12:00:00.000Z",
    });
    // Nothing of Bob.
    expect(JSON.stringify(body)).not.toContain(BOB);
  });

  it("GET /v1/evidence?email= lists the subject's evidence history", async () => {
    const res = await gw.request(`/v1/evidence?email=${encodeURIComponent(BOB)}`, {
      key: t.compliance,
    });
    const body = (await res.json()) as { evidence: { kind: string }[] };
    expect(body.evidence.map((e) => e.kind).sort()).toEqual(["consent-granted", "subject-facts"]);
    expect((await gw.request("/v1/evidence", { key: t.compliance })).status).toBe(400);
  });

  it("shows another tenant's key nothing, and needs compliance:read", async () => {
    const res = await gw.request(`/v1/subjects/${encodeURIComponent(ALICE)}`, {
      key: other.compliance,
    });
    const body = (await res.json()) as {
      subject: { email: unknown };
      evidence: unknown[];
      decisions: unknown[];
    };
    expect(body.subject.email).toBeNull();
    expect(body.evidence).toEqual([]);
    expect(body.decisions).toEqual([]);
    expect((await gw.request(`/v1/subjects/${encodeURIComponent(ALICE)}`)).status).toBe(401);
  });
});

describe("DELETE /v1/subjects/{email} (Art. 17)", () => {
  it("removes the address from evidence, justifications and the outbox; the chain still verifies; the address is not mailed again", async () => {
    const before = await gw.deps.db.select().from(outbox).where(eq(outbox.tenantId, t.tenantId));
    expect(before.map((m) => m.to).join()).toContain("Alice");
    gw.clock.advance(60_000);
    const res = await gw.request(`/v1/subjects/${encodeURIComponent(ALICE)}`, {
      method: "DELETE",
      key: t.admin,
    });
    expect(res.status).toBe(200);
    const rows = await gw.deps.db
      .select({ email: justifications.email })
      .from(justifications)
      .where(eq(justifications.tenantId, t.tenantId));
    expect(rows.map((r) => r.email).sort()).toEqual([BOB, null]);
    expect(rows.filter((r) => r.email === null)).toHaveLength(1);
    const kept = await gw.deps.db.select().from(messages).where(eq(messages.tenantId, t.tenantId));
    expect(kept).toHaveLength(1);
    expect(JSON.stringify(kept[0]?.request)).not.toMatch(/alice/i);
    expect(JSON.stringify(kept[0]?.request)).toContain(BOB);
    const after = await gw.deps.db.select().from(outbox).where(eq(outbox.tenantId, t.tenantId));
    expect(after.map((m) => m.to).join()).not.toMatch(/alice/i);
    expect(after).toHaveLength(1);

    const integrity = await gw.request("/v1/integrity", { key: t.compliance });
    expect(await integrity.json()).toMatchObject({
      ok: true,
      // The evidence chain too: the tombstone is appended, and the personal
      // part erasure cleared is outside every hash (docs/design.md §6).
      chains: [
        { rows: 2, ok: true },
        { name: "evidence", ok: true, unchained: 0 },
      ],
    });

    // Her proofs are still found by the keyed hash, without the address.
    const proofs = await gw.request(`/v1/proofs?email=${encodeURIComponent(ALICE)}`, {
      key: t.compliance,
    });
    const lines = (await proofs.text()).trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] ?? "{}")).toMatchObject({ email: null, decision: "send" });

    const access = (await (
      await gw.request(`/v1/subjects/${encodeURIComponent(ALICE)}`, { key: t.compliance })
    ).json()) as {
      subject: { email: unknown };
      evidence: { kind: string; personal: unknown }[];
      suppressions: { kind: string }[];
    };
    expect(access.subject.email).toBeNull();
    expect(access.evidence.every((e) => e.personal === null)).toBe(true);
    expect(access.suppressions.map((s) => s.kind)).toEqual(["erasure"]);
    expect(JSON.stringify(access)).not.toMatch(/alice|203\.0\.113|Firefox/i);

    const again = await send([ALICE]);
    expect(again.results[0]?.decision).toBe("suppress");
  });

  it("records each request with its date and one-month deadline", async () => {
    const rows = await gw.deps.db
      .select()
      .from(dsrRequests)
      .where(and(eq(dsrRequests.tenantId, t.tenantId), eq(dsrRequests.kind, "erasure")));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      receivedAt: Date.parse("2026-11-23T12:01:00Z"),
      deadline: Date.parse("2026-12-23T12:01:00Z"),
      completedAt: Date.parse("2026-11-23T12:01:00Z"),
    });
    expect(new Date(oneMonthAfter(Date.parse("2027-01-31T09:00:00Z"))).toISOString()).toBe(
      "2027-02-28T09:00:00.000Z",
    );
    expect(new Date(oneMonthAfter(Date.parse("2028-01-31T09:00:00Z"))).toISOString()).toBe(
      "2028-02-29T09:00:00.000Z",
    );
    expect(new Date(oneMonthAfter(Date.parse("2026-12-15T00:00:00Z"))).toISOString()).toBe(
      "2027-01-15T00:00:00.000Z",
    );
  });
});

describe("GET /v1/integrity and the evidence justifications cite", () => {
  it("reports a cited evidence event that was changed or removed, while the chain itself verifies", async () => {
    const before = (await (await gw.request("/v1/integrity", { key: t.compliance })).json()) as {
      ok: boolean;
      chains: { ok: boolean; evidence: { checked: number; altered: unknown[] } }[];
    };
    expect(before.ok).toBe(true);
    expect(before.chains[0]?.evidence.checked).toBeGreaterThanOrEqual(2);
    expect(before.chains[0]?.evidence.altered).toEqual([]);
    const bobKey = subjectKeyOf(gw.deps, t.tenantId, normaliseAddress(BOB));
    const [consent] = await gw.deps.db
      .select()
      .from(evidence)
      .where(
        and(
          eq(evidence.tenantId, t.tenantId),
          eq(evidence.subjectKey, bobKey),
          eq(evidence.kind, "consent-granted"),
        ),
      );
    if (!consent) throw new Error("no consent");
    await gw.deps.db
      .update(evidence)
      .set({ data: { ...consent.data, method: "double-opt-in" } })
      .where(eq(evidence.id, consent.id));
    const after = (await (await gw.request("/v1/integrity", { key: t.compliance })).json()) as {
      ok: boolean;
      chains: { ok: boolean; evidence: { altered: { evidenceId: string; problem: string }[] } }[];
    };
    expect(after.ok).toBe(false);
    expect(after.chains[0]?.ok).toBe(true);
    expect(after.chains[0]?.evidence.altered).toEqual([
      { evidenceId: consent.id, seq: expect.any(Number), problem: "changed" },
    ]);
    await gw.deps.db.delete(evidence).where(eq(evidence.id, consent.id));
    const gone = (await (await gw.request("/v1/integrity", { key: t.compliance })).json()) as {
      chains: { evidence: { altered: { problem: string }[] } }[];
    };
    expect(gone.chains[0]?.evidence.altered.map((a) => a.problem)).toEqual(["missing"]);
  });
});
