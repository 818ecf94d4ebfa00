import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainHeads, evidence } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { newId } from "../../src/domain/ids.js";
import { canonicalJson, sha256HexSync } from "../../src/domain/proof/chain.js";
import {
  CsvReader,
  type ExportHeader,
  ExportVerifier,
  fromCsv,
} from "../../src/domain/proof/export-format.js";
import { subjectKeyOf } from "../../src/services/deps.js";
import { adoptUnchainedEvidence } from "../../src/services/evidence/adopt-unchained-evidence.js";
import { appendEvidence } from "../../src/services/evidence/append-evidence.js";
import { newEvidence } from "../../src/services/evidence/rows.js";
import { runRetention } from "../../src/services/proofs/run-retention.js";
import { consentBody, createKey, erase, grant, write } from "../http/helpers.js";
import { finished, fixture, postImport } from "../imports/helpers.js";
import {
  anotherGatewayOn,
  createTenantWithTopics,
  environmentOf,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";
import { appendMany, grounds } from "./support.js";

/**
 * The evidence chain (docs/design.md §6, issue #6): every evidence event of a tenant
 * is chained, so a changed, removed or reordered event is detected by
 * GET /v1/integrity even when no justification cites it. The tampering is
 * done in the libSQL file itself, as someone with access to it would.
 */

const DAY = 86_400_000;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => gw.stop());

interface EvidenceChainReport {
  name: string;
  rows: number;
  start: { seq: number; hash: string };
  head: { seq: number; hash: string };
  ok: boolean;
  break?: { seq: number; problem: string; expected?: number };
  unchained: number;
  adopted: { seq: number; hash: string; at: string } | null;
}

interface Integrity {
  ok: boolean;
  chains: [{ name: string; ok: boolean; rows: number }, EvidenceChainReport];
}

async function tenant(name: string) {
  const { tenantId, key } = await createTenantWithTopics(gw, { name });
  const compliance = await createKey(gw, key, ["compliance:read"]);
  return { tenantId, key, compliance };
}

async function integrity(t: { compliance: string }): Promise<Integrity> {
  const res = await gw.request("/v1/integrity", { key: t.compliance });
  expect(res.status).toBe(200);
  return (await res.json()) as Integrity;
}

async function evidenceChainOf(t: { compliance: string }): Promise<EvidenceChainReport> {
  const report = await integrity(t);
  expect(report.chains.map((c) => c.name)).toEqual(["justifications", "evidence"]);
  return report.chains[1];
}

function rowsOf(tenantId: string) {
  return gw.deps.db
    .select()
    .from(evidence)
    .where(eq(evidence.tenantId, tenantId))
    .orderBy(asc(evidence.seq));
}

/** `n` consents (one event each), written one request after another. */
async function consents(t: { key: string }, n: number, prefix = "person") {
  for (let i = 0; i < n; i++) {
    await grant(gw, t.key, `${prefix}${i}@chain.example`, ["tips"], "2026-10-01T10:00:00Z");
  }
}

describe("every evidence writer appends to the tenant's evidence chain", () => {
  it("consents, facts, customers, engagements, objections, suppressions, lifting and erasure", async () => {
    const t = await tenant("Writers");
    const email = "writer@chain.example";
    await grant(gw, t.key, email, ["tips", "deals-lenses"], "2026-10-01T10:00:00Z", {
      subject: { country: "CZ" },
    });
    await write(gw, t.key, "/v1/customers", {
      email,
      kind: "purchase",
      since: "2026-09-01T10:00:00Z",
      lastPurchaseAt: "2026-09-01T10:00:00Z",
      categories: ["lenses"],
    });
    await write(gw, t.key, "/v1/engagements", {
      email,
      kind: "click",
      at: "2026-10-02T10:00:00Z",
    });
    await write(gw, t.key, "/v1/objections", {
      email,
      topics: ["deals-lenses"],
      channel: "email",
      receivedAt: "2026-10-03T10:00:00Z",
    });
    await write(gw, t.key, "/v1/suppressions", {
      email,
      reason: "restricted",
      at: "2026-10-04T10:00:00Z",
    });
    const lifted = await gw.request(`/v1/suppressions/${email}/restricted`, {
      method: "DELETE",
      key: t.key,
    });
    expect(lifted.status).toBe(200);
    await erase(gw, t.key, email);

    const rows = await rowsOf(t.tenantId);
    expect(new Set(rows.map((r) => r.kind))).toEqual(
      new Set([
        "consent-granted",
        "subject-facts",
        "customer",
        "engagement",
        "objection",
        "suppression",
        "suppression-lifted",
        "erasure",
      ]),
    );
    // Numbered 1…n without gaps, each linked to the one before.
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    for (let i = 1; i < rows.length; i++) expect(rows[i]?.prevHash).toBe(rows[i - 1]?.hash);
    expect(rows.at(-1)?.kind).toBe("erasure");

    const chain = await evidenceChainOf(t);
    expect(chain).toMatchObject({
      ok: true,
      rows: rows.length,
      start: { seq: 0 },
      head: { seq: rows.length, hash: rows.at(-1)?.hash },
      unchained: 0,
      adopted: null,
    });
    expect(chain.break).toBeUndefined();
    // Erasure cleared the personal part of every event; the chain, which
    // never hashed it, still verifies (GDPR Art. 17, docs/design.md §6).
    expect(rows.every((r) => r.personal === null)).toBe(true);
  });

  it("GET /v1/evidence shows each event's place in the chain, and its hash recomputes from what it shows (docs/proof-log.md)", async () => {
    const t = await tenant("History");
    const email = "history@chain.example";
    await grant(gw, t.key, "someone-else@chain.example", ["tips"], "2026-10-01T10:00:00Z");
    await grant(gw, t.key, email, ["tips"], "2026-10-01T10:00:00Z", {
      source: { method: "web-form", ip: "192.0.2.1" },
    });
    await write(gw, t.key, "/v1/engagements", { email, kind: "open", at: "2026-10-02T10:00:00Z" });
    const res = await gw.request(`/v1/evidence?email=${encodeURIComponent(email)}`, {
      key: t.compliance,
    });
    const body = (await res.json()) as {
      subject: string;
      evidence: {
        id: string;
        kind: string;
        topic: string | null;
        occurredAt: string;
        recordedAt: string;
        data: Record<string, unknown>;
        chain: { seq: number; prev: string; hash: string } | null;
      }[];
    };
    expect(body.evidence.map((e) => e.chain?.seq)).toEqual([2, 3]);
    const head = (await evidenceChainOf(t)).head;
    expect(body.evidence.at(-1)?.chain?.hash).toBe(head.hash);
    for (const event of body.evidence) {
      // The content table of docs/proof-log.md, from the record alone.
      const content = {
        v: 1,
        chain: "evidence",
        tenant: t.tenantId,
        seq: event.chain?.seq,
        prev: event.chain?.prev,
        id: event.id,
        kind: event.kind,
        topic: event.topic,
        subject: body.subject,
        occurredAt: Date.parse(event.occurredAt),
        recordedAt: Date.parse(event.recordedAt),
        data: event.data,
      };
      expect(sha256HexSync(canonicalJson(content))).toBe(event.chain?.hash);
    }
  });

  it("a subject's facts (PUT /v1/subjects) are chained", async () => {
    const t = await tenant("Facts");
    const res = await gw.request("/v1/subjects/facts%40chain.example", {
      method: "PUT",
      key: t.key,
      json: { country: "DE", subscriberType: "individual" },
    });
    expect(res.status).toBe(200);
    const rows = await rowsOf(t.tenantId);
    expect(rows.map((r) => [r.kind, r.seq])).toEqual([["subject-facts", 1]]);
    expect(await evidenceChainOf(t)).toMatchObject({ ok: true, rows: 1 });
  });
});

describe("tampering with evidence in the database is detected by GET /v1/integrity", () => {
  const run = (statement: ReturnType<typeof sql>) => gw.deps.db.run(statement);

  async function freshChain(name: string) {
    const t = await tenant(name);
    await consents(t, 8);
    expect(await evidenceChainOf(t)).toMatchObject({ ok: true, rows: 8, head: { seq: 8 } });
    return t;
  }

  it("a changed event (one no justification cites) fails its hash", async () => {
    const t = await freshChain("Changed evidence");
    await run(
      sql`UPDATE evidence SET data = json_set(data, '$.method', 'paper') WHERE tenant_id = ${t.tenantId} AND seq = 3`,
    );
    const report = await integrity(t);
    expect(report.ok).toBe(false);
    expect(report.chains[0]).toMatchObject({ name: "justifications", ok: true });
    expect(report.chains[1]).toMatchObject({
      ok: false,
      rows: 2,
      break: { seq: 3, problem: "hash-mismatch" },
    });

    // Its time, its topic and its subject are hashed too.
    const other = await freshChain("Changed time");
    await run(
      sql`UPDATE evidence SET occurred_at = occurred_at - 1000 WHERE tenant_id = ${other.tenantId} AND seq = 6`,
    );
    expect((await evidenceChainOf(other)).break).toEqual({ seq: 6, problem: "hash-mismatch" });
  });

  it("a deleted event leaves a gap", async () => {
    const t = await freshChain("Deleted evidence");
    await run(sql`DELETE FROM evidence WHERE tenant_id = ${t.tenantId} AND seq = 4`);
    expect(await evidenceChainOf(t)).toMatchObject({
      ok: false,
      rows: 3,
      break: { seq: 5, problem: "gap", expected: 4 },
    });
  });

  it("two events swapped (their seq exchanged) break the chain where the first moved", async () => {
    const t = await freshChain("Swapped evidence");
    for (const [from, to] of [
      [5, -1],
      [6, 5],
      [-1, 6],
    ] as const) {
      await run(
        sql`UPDATE evidence SET seq = ${to} WHERE tenant_id = ${t.tenantId} AND seq = ${from}`,
      );
    }
    const chain = await evidenceChainOf(t);
    expect(chain).toMatchObject({ ok: false, rows: 4, break: { seq: 5 } });
    expect(["broken-link", "hash-mismatch"]).toContain(chain.break?.problem);
  });

  it("a changed head, a truncated log, and an event written around the chain are each detected", async () => {
    const moved = await freshChain("Moved head");
    await gw.deps.db
      .update(chainHeads)
      .set({ hash: "f".repeat(64) })
      .where(and(eq(chainHeads.tenantId, moved.tenantId), eq(chainHeads.chain, "evidence")));
    expect((await evidenceChainOf(moved)).break).toEqual({ seq: 9, problem: "truncated" });

    const truncated = await freshChain("Truncated evidence");
    await run(sql`DELETE FROM evidence WHERE tenant_id = ${truncated.tenantId} AND seq >= 7`);
    expect(await evidenceChainOf(truncated)).toMatchObject({
      ok: false,
      rows: 6,
      break: { seq: 7, problem: "truncated" },
    });

    // A row inserted without the chain (no seq): not tamper-evident, so not ok.
    const around = await freshChain("Written around");
    const [template] = await rowsOf(around.tenantId);
    await gw.deps.db.insert(evidence).values({
      ...(template as typeof evidence.$inferSelect),
      id: newId("ev", gw.clock()),
      seq: null,
      prevHash: null,
      hash: null,
    });
    const report = await integrity(around);
    expect(report.ok).toBe(false);
    expect(report.chains[1]).toMatchObject({ ok: false, rows: 8, unchained: 1 });
    expect(report.chains[1].break).toBeUndefined();
  });

  it("leaves other tenants' chains untouched", async () => {
    const t = await freshChain("Bystander");
    const victim = await freshChain("Victim");
    await run(sql`DELETE FROM evidence WHERE tenant_id = ${victim.tenantId} AND seq = 1`);
    expect((await integrity(victim)).ok).toBe(false);
    expect((await integrity(t)).ok).toBe(true);
  });
});

describe("the evidence chain keeps verifying", () => {
  it("after an erasure: the personal part goes, the tombstone is appended", async () => {
    const t = await tenant("Erasure");
    await grant(gw, t.key, "alice@chain.example", ["tips"], "2026-10-01T10:00:00Z", {
      source: {
        method: "web-form",
        ip: "192.0.2.44",
        userAgent: "Firefox",
        url: "https://x.example/",
      },
    });
    await grant(gw, t.key, "bob@chain.example", ["tips"], "2026-10-01T10:00:00Z");
    const before = await rowsOf(t.tenantId);
    expect(before[0]?.personal).not.toBeNull();
    await erase(gw, t.key, "alice@chain.example");
    const after = await rowsOf(t.tenantId);
    expect(after[0]?.personal).toBeNull();
    // What was chained is unchanged: only the unhashed personal part went.
    expect(after.slice(0, 2).map((r) => r.hash)).toEqual(before.map((r) => r.hash));
    expect(after.map((r) => r.kind)).toEqual(["consent-granted", "consent-granted", "erasure"]);
    expect(await evidenceChainOf(t)).toMatchObject({ ok: true, rows: 3, head: { seq: 3 } });
  });

  it("after retention removed expired justifications (retention removes no evidence)", async () => {
    const t = await tenant("Retention");
    await consents(t, 3);
    await appendMany(gw, t.tenantId, 20);
    const removed = await runRetention(gw.deps, gw.clock() + 1200 * DAY);
    expect(removed.find((r) => r.tenantId === t.tenantId)?.removed).toBe(20);
    const report = await integrity(t);
    expect(report).toMatchObject({
      ok: true,
      chains: [
        { name: "justifications", ok: true, rows: 0 },
        { name: "evidence", ok: true, rows: 3, start: { seq: 0 } },
      ],
    });
  });
});

describe("imports", () => {
  it("a re-run of the same file adds no evidence, and the chain stays valid", async () => {
    const t = await tenant("Imports");
    await consents(t, 2, "before");
    const file = fixture("mailchimp-subscribed.csv");
    const first = await finished(
      gw,
      t.key,
      (await postImport(gw, t.key, "format=mailchimp&topics=tips", file)).id,
    );
    expect(first.imported).toBeGreaterThan(0);
    const once = await rowsOf(t.tenantId);
    const chain = await evidenceChainOf(t);
    expect(chain).toMatchObject({ ok: true, rows: once.length, head: { seq: once.length } });

    const again = await finished(
      gw,
      t.key,
      (await postImport(gw, t.key, "format=mailchimp&topics=tips", file)).id,
    );
    expect(again).toMatchObject({ status: "done", imported: 0 });
    expect(again.skipped).toBe(first.imported + first.skipped);
    expect(await rowsOf(t.tenantId)).toEqual(once);
    expect(await evidenceChainOf(t)).toEqual(chain);
  });

  it("an erasure between two imports: the re-import of the erased address is refused, nothing is left unchained", async () => {
    const t = await tenant("Import erasure");
    const file = fixture("mailchimp-subscribed.csv");
    await finished(
      gw,
      t.key,
      (await postImport(gw, t.key, "format=mailchimp&topics=tips", file)).id,
    );
    await erase(gw, t.key, "jana.novakova@seznam.example");
    const again = await finished(
      gw,
      t.key,
      (await postImport(gw, t.key, "format=mailchimp&topics=tips", file)).id,
    );
    expect(again.imported).toBe(0);
    expect(await evidenceChainOf(t)).toMatchObject({ ok: true, unchained: 0 });
  });
});

describe("concurrent writers never fork the chain", () => {
  it("parallel requests to one gateway", async () => {
    const t = await tenant("Parallel");
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        grant(gw, t.key, `p${i}@chain.example`, ["tips"], "2026-10-01T10:00:00Z"),
      ),
    );
    const rows = await rowsOf(t.tenantId);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(await evidenceChainOf(t)).toMatchObject({ ok: true, rows: 30, head: { seq: 30 } });
  });

  it("two gateways on one database file, writing at once", async () => {
    const t = await tenant("Two gateways");
    const second = await anotherGatewayOn(gw);
    try {
      const on = (app: typeof second.app, i: number) =>
        app.fetch(
          new Request("http://grounds.test/v1/consents", {
            method: "POST",
            headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
            body: JSON.stringify(
              consentBody(`g${i}@chain.example`, ["tips"], "2026-10-01T10:00:00Z"),
            ),
          }),
        );
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => on(i % 2 === 0 ? gw.app : second.app, i)),
      );
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 201));
      // And an erasure on one while the other writes.
      await Promise.all([
        erase(gw, t.key, "g1@chain.example"),
        on(second.app, 100),
        on(second.app, 101),
      ]);
    } finally {
      second.close();
    }
    const rows = await rowsOf(t.tenantId);
    expect(rows).toHaveLength(43);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(await evidenceChainOf(t)).toMatchObject({ ok: true, rows: 43, head: { seq: 43 } });
  });
});

describe("two writers that read the same head (another process appended in between)", () => {
  it("one batch commits; the other fails whole, is planned again on the new head, and commits after it", async () => {
    const t = await tenant("Same head");
    await consents(t, 2);
    const second = await anotherGatewayOn(gw);
    // Each writer's first plan waits until both have read the head: they
    // are linked after the same head, as two processes racing would be.
    let arrived = 0;
    let release = () => {};
    const bothRead = new Promise<void>((resolve) => {
      release = resolve;
    });
    const plans = { first: 0, second: 0 };
    const writer = (deps: typeof gw.deps, name: "first" | "second") =>
      appendEvidence(deps, t.tenantId, async () => {
        plans[name] += 1;
        if (plans[name] === 1) {
          arrived += 1;
          if (arrived === 2) release();
          await bothRead;
        }
        const subject = {
          tenantId: t.tenantId,
          subjectKey: subjectKeyOf(deps, t.tenantId, `${name}@chain.example`),
          email: `${name}@chain.example`,
        };
        return {
          evidence: [0, 1, 2].map((i) =>
            newEvidence(deps, subject, {
              kind: "engagement",
              at: gw.clock() - i,
              data: { kind: "click" },
            }),
          ),
          result: name,
        };
      });
    try {
      await Promise.all([writer(gw.deps, "first"), writer(second.deps, "second")]);
    } finally {
      second.close();
    }
    // Exactly one of them had to be planned again.
    expect(plans.first + plans.second).toBe(3);
    const rows = await rowsOf(t.tenantId);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await evidenceChainOf(t)).toMatchObject({ ok: true, rows: 8, head: { seq: 8 } });
  });
});

describe("an export of the evidence chain verifies offline", () => {
  function verify(text: string) {
    const verifier = new ExportVerifier();
    if (text.startsWith("{")) {
      const [first, ...lines] = text.trimEnd().split("\n");
      verifier.header(JSON.parse(first ?? "null") as ExportHeader);
      for (const line of lines) verifier.record(JSON.parse(line));
    } else {
      const [columns, ...rows] = new CsvReader().push(text, true);
      for (const cells of rows) {
        const parsed = fromCsv(columns ?? [], cells);
        if ("header" in parsed) verifier.header(parsed.header);
        else verifier.record(parsed.record);
      }
    }
    return verifier.finish();
  }

  it("GET /v1/proofs?chain=evidence (NDJSON and CSV): whole, nothing personal; changes to the file are detected", async () => {
    const t = await tenant("Export");
    await grant(gw, t.key, "exported@chain.example", ["tips"], "2026-10-01T10:00:00Z", {
      source: { method: "web-form", ip: "192.0.2.77", userAgent: "Secret-Agent/1.0" },
    });
    await consents(t, 4, "exp");
    await erase(gw, t.key, "exp1@chain.example");
    const head = (await evidenceChainOf(t)).head;

    const res = await gw.request("/v1/proofs?chain=evidence", { key: t.compliance });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/evidence-/);
    const text = await res.text();
    const [first, ...lines] = text.trimEnd().split("\n");
    expect(JSON.parse(first ?? "null")).toMatchObject({
      export: "grounds-proofs",
      chain: "evidence",
      tenant: t.tenantId,
      complete: true,
      start: { seq: 0 },
      head,
    });
    expect(lines).toHaveLength(6);
    expect(text).not.toContain("192.0.2");
    expect(text).not.toContain("Secret-Agent");
    expect(text).not.toContain("@chain.example");
    expect(verify(text)).toMatchObject({ ok: true, rows: 6, complete: true, head });

    const csv = await (
      await gw.request("/v1/proofs?chain=evidence&format=csv", { key: t.compliance })
    ).text();
    expect(csv.split("\r\n")[0]).toBe(
      "record,header,v,chain,tenant,seq,prev,id,kind,topic,subject,occurredAt,recordedAt,data,hash",
    );
    expect(verify(csv)).toMatchObject({ ok: true, rows: 6, complete: true });

    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const rewrite = (changed: Record<string, unknown>[], header = first ?? "") =>
      [header, ...changed.map((r) => JSON.stringify(r))].join("\n");
    // A changed event.
    const changed = records.map((r) =>
      r.seq === 3 ? { ...r, data: { ...(r.data as object), method: "paper" } } : r,
    );
    expect(verify(rewrite(changed)).break).toMatchObject({ seq: 3, problem: "hash-mismatch" });
    // A removed event.
    expect(verify(rewrite(records.filter((r) => r.seq !== 2))).break).toMatchObject({
      seq: 3,
      problem: "gap",
    });
    // Two events swapped.
    const swapped = [...records];
    [swapped[3], swapped[4]] = [
      swapped[4] as Record<string, unknown>,
      swapped[3] as Record<string, unknown>,
    ];
    expect(verify(rewrite(swapped)).ok).toBe(false);
    // A truncated file.
    expect(verify(rewrite(records.slice(0, -1))).break).toMatchObject({ problem: "truncated" });
    // Evidence passed off as justifications: hashed by the other layout, it fails.
    const relabelled = (first ?? "").replace('"chain":"evidence"', '"chain":"justifications"');
    expect(verify(rewrite(records, relabelled)).break).toMatchObject({ problem: "hash-mismatch" });

    // Whole or not at all: no filters.
    const filtered = await gw.request("/v1/proofs?chain=evidence&topic=tips", {
      key: t.compliance,
    });
    expect(filtered.status).toBe(400);
  });

  it("`grounds export --chain evidence` writes a file `grounds verify` accepts, and refuses once it is changed", async () => {
    const t = await tenant("CLI export");
    await consents(t, 3, "cli");
    const file = join(gw.dir, "evidence.csv");
    const exported = await grounds(
      ["export", "--tenant", t.tenantId, "--chain", "evidence", "--format", "csv", "--out", file],
      environmentOf(gw),
    );
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain("3 evidence events");
    const ok = await grounds(["verify", file], {});
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^OK: 3 records verify/);
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace('"method"":""web-form', '"method"":""paper'),
    );
    const bad = await grounds(["verify", file], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("NOT VERIFIED: hash-mismatch at seq 1");
  }, 60_000);
});

describe("evidence stored before the chain existed", () => {
  it("is reported as unchained, then chained in stored order by the next write, and the adoption is disclosed", async () => {
    const t = await tenant("Upgraded");
    // Rows as a version without the evidence chain wrote them (no seq).
    const legacy = Array.from({ length: 5 }, (_, i) => {
      const subjectKey = subjectKeyOf(
        gw.deps,
        t.tenantId,
        normaliseAddress(`old${i}@chain.example`),
      );
      return {
        id: newId("ev", gw.clock() - (5 - i) * DAY),
        tenantId: t.tenantId,
        subjectKey,
        kind: "consent-granted" as const,
        topic: "tips",
        // Stored in another order than they happened: stored order counts.
        occurredAt: Date.parse("2026-01-01T00:00:00Z") - i * DAY,
        recordedAt: gw.clock() - 10 * DAY,
        data: { method: "web-form", confirmedAt: null },
        personal: { ip: "192.0.2.0" },
      };
    });
    for (const row of legacy) await gw.deps.db.insert(evidence).values(row);
    const pending = await evidenceChainOf(t);
    expect(pending).toMatchObject({ ok: false, rows: 0, unchained: 5, adopted: null });

    gw.clock.advance(1000);
    await grant(gw, t.key, "new@chain.example", ["tips"], "2026-10-01T10:00:00Z");
    const rows = await rowsOf(t.tenantId);
    expect(rows.map((r) => r.id)).toEqual([...legacy.map((r) => r.id), rows.at(-1)?.id]);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const chain = await evidenceChainOf(t);
    expect(chain).toMatchObject({
      ok: true,
      rows: 6,
      unchained: 0,
      adopted: { seq: 5, hash: rows[4]?.hash, at: new Date(gw.clock()).toISOString() },
    });
    // From now on they are tamper-evident like any other event.
    await gw.deps.db.run(
      sql`UPDATE evidence SET topic = 'deals-lenses' WHERE tenant_id = ${t.tenantId} AND seq = 2`,
    );
    expect((await evidenceChainOf(t)).break).toEqual({ seq: 2, problem: "hash-mismatch" });
  });

  it("is chained at start (or by the daily cron) for every tenant, without waiting for a write", async () => {
    const a = await tenant("Upgraded A");
    const b = await tenant("Upgraded B");
    const legacyOf = (tenantId: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: newId("ev", gw.clock() - (n - i) * DAY),
        tenantId,
        subjectKey: subjectKeyOf(gw.deps, tenantId, normaliseAddress(`legacy${i}@chain.example`)),
        kind: "consent-granted" as const,
        topic: "tips",
        occurredAt: Date.parse("2026-01-01T00:00:00Z") + i * DAY,
        recordedAt: gw.clock() - 10 * DAY,
        data: { method: "web-form", confirmedAt: null },
        personal: null,
      }));
    await gw.deps.db
      .insert(evidence)
      .values([...legacyOf(a.tenantId, 3), ...legacyOf(b.tenantId, 2)]);
    expect(await evidenceChainOf(a)).toMatchObject({ ok: false, unchained: 3 });

    const adopted = await adoptUnchainedEvidence(gw.deps);
    expect([...adopted].sort()).toEqual([a.tenantId, b.tenantId].sort());
    expect(await evidenceChainOf(a)).toMatchObject({
      ok: true,
      rows: 3,
      unchained: 0,
      adopted: { seq: 3, at: new Date(gw.clock()).toISOString() },
    });
    expect(await evidenceChainOf(b)).toMatchObject({ ok: true, rows: 2, unchained: 0 });
    // Once done, there is nothing left to do.
    expect(await adoptUnchainedEvidence(gw.deps)).toEqual([]);
  });
});
