import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { justifications } from "../../src/db/schema.js";
import {
  CsvReader,
  type ExportHeader,
  type ExportRecord,
  ExportVerifier,
  fromCsv,
} from "../../src/domain/proof/export-format.js";
import { exportProofs } from "../../src/services/proofs/export-proofs.js";
import { environmentOf, startTestGateway, type TestGateway } from "../support/gateway.js";
import { appendMany, grounds, tenantWithKeys } from "./support.js";

/** Proof export (GET /v1/proofs, `grounds export`) and integrity (GET /v1/integrity, `grounds verify`). */

let gw: TestGateway;
let a: Awaited<ReturnType<typeof tenantWithKeys>>;
let b: Awaited<ReturnType<typeof tenantWithKeys>>;
const N = 300;

beforeAll(async () => {
  gw = await startTestGateway();
  a = await tenantWithKeys(gw, "Optika");
  b = await tenantWithKeys(gw, "Other");
  await appendMany(gw, a.tenantId, N, (i) =>
    i === 7
      ? { address: "=cmd@evil.example", basis: '=HYPERLINK("http://x")', error: "@SUM(1)" }
      : i === 8
        ? {
            basis: "-1+2",
            providerMessageId: "\tTAB",
            error: '\'quoted, "with" comma\r\nand lines',
          }
        : {},
  );
  await appendMany(gw, b.tenantId, 5, () => ({ address: "other@example.com" }));
}, 60_000);
afterAll(async () => gw.stop());

async function ndjson(query: string, key = a.compliance) {
  const res = await gw.request(`/v1/proofs${query}`, { key });
  expect(res.status).toBe(200);
  const lines = (await res.text()).trimEnd().split("\n");
  const [first, ...rest] = lines;
  return {
    res,
    header: JSON.parse(first ?? "null") as ExportHeader,
    records: rest.map((line) => JSON.parse(line) as ExportRecord),
  };
}

function verifyText(text: string): ReturnType<ExportVerifier["finish"]> {
  const verifier = new ExportVerifier();
  if (text.startsWith("{")) {
    text
      .split("\n")
      .filter(Boolean)
      .forEach((line, i) => {
        if (i === 0) verifier.header(JSON.parse(line));
        else verifier.record(JSON.parse(line), i + 1);
      });
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

describe("GET /v1/proofs", () => {
  it("streams the whole chain as NDJSON after a header, and it verifies", async () => {
    const { res, header, records } = await ndjson("");
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    expect(header).toMatchObject({
      export: "grounds-proofs",
      tenant: a.tenantId,
      complete: true,
      start: { seq: 0 },
      head: { seq: N },
    });
    expect(records).toHaveLength(N);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(records[1]).toMatchObject({ v: 1, tenant: a.tenantId, prev: records[0]?.hash });
    expect(
      verifyText(await (await gw.request("/v1/proofs", { key: a.compliance })).text()),
    ).toMatchObject({
      ok: true,
      rows: N,
    });
  });

  it("filters by decision, topic, message, address and time, and a filtered file still verifies", async () => {
    const send = await ndjson("?decision=send");
    expect(send.header.complete).toBe(false);
    expect(send.records.length).toBe(N - Math.ceil(N / 3));
    expect(send.records.every((r) => r.decision === "send")).toBe(true);
    const topic = await ndjson("?topic=tips&decision=suppress");
    expect(topic.records.every((r) => r.topic === "tips" && r.decision === "suppress")).toBe(true);
    const message = await ndjson("?messageId=msg_2");
    expect(message.records.map((r) => r.seq)).toEqual(
      Array.from({ length: 100 }, (_, i) => 201 + i),
    );
    const person = await ndjson(`?email=${encodeURIComponent("Person3@Example.com")}`);
    expect(person.records.length).toBe(6);
    expect(person.header.filters).toEqual({ email: "(given)" });
    const at = (seq: number) => String(send.records.find((r) => r.seq === seq)?.decidedAt ?? "");
    const window = await ndjson(`?from=${at(2)}&to=${at(5)}`);
    expect(window.records.map((r) => r.seq)).toEqual([2, 3, 4, 5]);
    const text = await (await gw.request("/v1/proofs?decision=send", { key: a.compliance })).text();
    expect(verifyText(text)).toMatchObject({ ok: true, complete: false });
  });

  it("writes RFC 4180 CSV with formula cells neutralised, and the CSV verifies", async () => {
    const res = await gw.request("/v1/proofs?format=csv", { key: a.compliance });
    expect(res.headers.get("content-type")).toContain("text/csv");
    const text = await res.text();
    expect(text).toContain(`'=HYPERLINK(""http://x"")`);
    expect(text).toContain("'=cmd@evil.example");
    expect(text).toContain("'@SUM(1)");
    expect(text).toContain("'-1+2");
    expect(text).toContain('"\'\'quoted, ""with"" comma\r\nand lines"');
    expect(text).toContain("'\tTAB");
    // No cell begins with a formula character once quotes are taken off.
    const [columns, ...rows] = new CsvReader().push(text, true);
    for (const cells of rows) for (const cell of cells) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    const record = rows
      .map((cells) => fromCsv(columns ?? [], cells))
      .find((parsed) => "record" in parsed && parsed.record.seq === 9);
    expect(record && "record" in record ? record.record.error : null).toBe(
      '\'quoted, "with" comma\r\nand lines',
    );
    expect(verifyText(text)).toMatchObject({ ok: true, rows: N, complete: true });
  });

  it("reads page by page as the consumer pulls: constant memory whatever the row count", async () => {
    const big = await tenantWithKeys(gw, "Big");
    await appendMany(gw, big.tenantId, 30_000);
    const pages: number[] = [];
    const { stream } = await exportProofs(gw.deps, big.tenantId, {}, "ndjson", {
      onRows: (rows) => pages.push(rows),
    });
    const reader = stream.getReader();
    await reader.read(); // the header
    await reader.read(); // the first page
    // Nothing is read ahead of the consumer: at most one page beyond what it took.
    expect(pages.length).toBeLessThanOrEqual(2);
    let records = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      records += new TextDecoder().decode(value).split("\n").length - 1;
    }
    expect(pages.at(-1)).toBe(30_000);
    expect(pages.length).toBeGreaterThanOrEqual(15);
    expect(records + 2000).toBe(30_000);
    const integrity = await gw.request("/v1/integrity", { key: big.compliance });
    expect(await integrity.json()).toMatchObject({
      ok: true,
      chains: [{ rows: 30_000 }, { name: "evidence", ok: true }],
    });
  }, 60_000);

  it("needs compliance:read, and shows a key only its own tenant's proofs", async () => {
    expect((await gw.request("/v1/proofs")).status).toBe(401);
    const other = await ndjson("", b.compliance);
    expect(other.records).toHaveLength(5);
    expect(other.records.every((r) => r.tenant === b.tenantId)).toBe(true);
    const none = await ndjson(`?email=${encodeURIComponent("person1@example.com")}`, b.compliance);
    expect(none.records).toHaveLength(0);
    const bad = await gw.request("/v1/proofs?format=xml", { key: a.compliance });
    expect(bad.status).toBe(400);
  });
});

describe("tampering", () => {
  async function integrityOf(key: string) {
    const res = await gw.request("/v1/integrity", { key });
    return (await res.json()) as {
      ok: boolean;
      chains: { rows: number; ok: boolean; break?: { seq: number; problem: string } }[];
    };
  }

  async function freshChain(name: string) {
    const t = await tenantWithKeys(gw, name);
    await appendMany(gw, t.tenantId, 10);
    expect(await integrityOf(t.compliance)).toMatchObject({
      ok: true,
      chains: [{ rows: 10 }, { name: "evidence", ok: true }],
    });
    return t;
  }

  const run = (t: { tenantId: string }, statement: ReturnType<typeof sql>) =>
    gw.deps.db.run(sql`${statement}`).then(() => t);

  it("in the database: a changed decision, a deleted row, two swapped rows and a truncated log are each detected", async () => {
    const changed = await freshChain("Changed");
    await gw.deps.db
      .update(justifications)
      .set({ decision: "suppress" })
      .where(and(eq(justifications.tenantId, changed.tenantId), eq(justifications.seq, 3)));
    expect((await integrityOf(changed.compliance)).chains[0]?.break).toEqual({
      seq: 3,
      problem: "hash-mismatch",
    });

    const deleted = await freshChain("Deleted");
    await run(
      deleted,
      sql`DELETE FROM justifications WHERE tenant_id = ${deleted.tenantId} AND seq = 4`,
    );
    expect((await integrityOf(deleted.compliance)).chains[0]?.break).toMatchObject({
      seq: 5,
      problem: "gap",
    });

    const swapped = await freshChain("Swapped");
    for (const [from, to] of [
      [5, -1],
      [6, 5],
      [-1, 6],
    ] as const) {
      await run(
        swapped,
        sql`UPDATE justifications SET seq = ${to} WHERE tenant_id = ${swapped.tenantId} AND seq = ${from}`,
      );
    }
    expect((await integrityOf(swapped.compliance)).chains[0]?.break).toMatchObject({ seq: 5 });

    const truncated = await freshChain("Truncated");
    await run(
      truncated,
      sql`DELETE FROM justifications WHERE tenant_id = ${truncated.tenantId} AND seq >= 9`,
    );
    expect((await integrityOf(truncated.compliance)).chains[0]?.break).toEqual({
      seq: 9,
      problem: "truncated",
    });
    // The others' chains are untouched.
    expect((await integrityOf(a.compliance)).ok).toBe(true);
  });

  it("in exported files, offline with `grounds verify`: changed, deleted, reordered and truncated records are each detected", async () => {
    const dir = gw.dir;
    const ndjsonText = await (await gw.request("/v1/proofs", { key: a.compliance })).text();
    const csvText = await (await gw.request("/v1/proofs?format=csv", { key: a.compliance })).text();
    const lines = ndjsonText.trimEnd().split("\n");
    const files: Record<string, string> = {
      "ok.ndjson": ndjsonText,
      "ok.csv": csvText,
      "changed.ndjson": lines
        .map((line, i) =>
          i === 10 ? line.replace('"decision":"suppress"', '"decision":"send"') : line,
        )
        .join("\n"),
      "deleted.ndjson": lines.filter((_, i) => i !== 20).join("\n"),
      "reordered.ndjson": lines
        .map((line, i) => (i === 30 ? lines[31] : i === 31 ? lines[30] : line))
        .join("\n"),
      "truncated.ndjson": lines.slice(0, -3).join("\n"),
      "changed.csv": csvText.replace(
        /(\r\njustification,,1,[^,]+,10,[^\r\n]*?),suppress,/,
        "$1,send,",
      ),
    };
    expect(files["changed.ndjson"]).not.toBe(ndjsonText.trimEnd());
    expect(files["changed.csv"]).not.toBe(csvText);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const names = Object.keys(files);
    const results = await Promise.all(
      names.map((name) => grounds(["verify", join(dir, name), "--json"])),
    );
    const verdicts = Object.fromEntries(
      names.map((name, i) => [
        name,
        { code: results[i]?.code, ...JSON.parse(results[i]?.stdout || "{}") },
      ]),
    );
    expect(verdicts["ok.ndjson"]).toMatchObject({ code: 0, ok: true, rows: N });
    expect(verdicts["ok.csv"]).toMatchObject({ code: 0, ok: true, rows: N });
    expect(verdicts["changed.ndjson"]).toMatchObject({
      code: 1,
      break: { seq: 10, problem: "hash-mismatch" },
    });
    expect(verdicts["deleted.ndjson"]).toMatchObject({
      code: 1,
      break: { seq: 21, problem: "gap" },
    });
    expect(verdicts["reordered.ndjson"]).toMatchObject({
      code: 1,
      break: { seq: 31, problem: "gap" },
    });
    expect(verdicts["truncated.ndjson"]).toMatchObject({
      code: 1,
      break: { problem: "truncated" },
    });
    expect(verdicts["changed.csv"]).toMatchObject({
      code: 1,
      break: { seq: 10, problem: "hash-mismatch" },
    });
  }, 60_000);

  it("`grounds export` writes the same file, which `grounds verify` accepts", async () => {
    const out = join(gw.dir, "cli-export.csv");
    const exported = await grounds(
      ["export", "--tenant", a.tenantId, "--format", "csv", "--out", out],
      environmentOf(gw),
    );
    expect(exported.stderr).toContain("100%");
    expect(exported).toMatchObject({ code: 0 });
    expect(exported.stdout).toContain(`Exported ${N} justifications`);
    const text = readFileSync(out, "utf8");
    expect(text.split("\r\n")[0]).toMatch(/^record,header,v,tenant,seq,prev,/);
    const verified = await grounds(["verify", out]);
    expect(verified).toMatchObject({ code: 0 });
    expect(verified.stdout).toMatch(/^OK: 300 records verify/);
  }, 60_000);
});
