/**
 * Proof export of 1,000,000 justifications — GET /v1/proofs' service,
 * streamed as NDJSON and as CSV, consumed as fast as it comes — beside a raw
 * keyset scan of the same table (the same pages of 2,000 rows, no encoding),
 * in the same run, on a temp libSQL file. Reports rows per second and the
 * peak RSS above the level before each phase: it must stay flat whatever
 * the row count (constant memory). Run alone with `npx tsx bench/export.ts` (BENCH_EXPORT_ROWS to change N).
 */

import { and, asc, eq, gt, sql } from "drizzle-orm";
import { chainHeads, justifications } from "../src/db/schema.js";
import { EXPORT_PAGE_ROWS, exportProofs } from "../src/services/proofs/export-proofs.js";
import { benchGateway, benchTenant } from "./support/gateway.js";

const N = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
const gateway = await benchGateway("export");
const { deps } = gateway;

/** Samples RSS every 20 ms; `peak()` is the highest seen above the level at `start()`. */
function rssMeter() {
  let base = 0;
  let peak = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    start() {
      globalThis.gc?.();
      base = process.memoryUsage.rss();
      peak = base;
      timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 20);
    },
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { peakMiB: peak / 2 ** 20, aboveMiB: (peak - base) / 2 ** 20 };
    },
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en");

try {
  const tenant = await benchTenant(deps);
  // Seeded inside SQLite (a recursive CTE, 100,000 rows a statement): a
  // million rows through the chain's appender would take minutes, and the
  // export neither reads nor recomputes hashes, so the rows carry
  // placeholder hashes of the right shape. The integrity check is not
  // measured here for that reason (test/compliance-staff covers it).
  const seedStart = performance.now();
  const now = Date.now();
  const CHUNK = 100_000;
  for (let from = 1; from <= N; from += CHUNK) {
    const to = Math.min(N, from + CHUNK - 1);
    await deps.db.run(sql`
      INSERT INTO justifications (id, tenant_id, seq, prev_hash, hash, message_id, subject_key,
        topic, decision, basis, reasons, rule_set, evidence, trace, decided_at, supersedes, email,
        chunk, status, provider_message_id, error, status_at)
      WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
      SELECT printf('jus_%012d', i), ${tenant.id}, i,
        printf('%064d', i - 1), printf('%064d', i),
        printf('msg_%d', i / 10000), printf('%064d', i % 50000),
        CASE i % 2 WHEN 0 THEN 'tips' ELSE 'deals' END,
        CASE i % 3 WHEN 0 THEN 'suppress' ELSE 'send' END,
        CASE i % 3 WHEN 0 THEN NULL ELSE 'consent' END,
        CASE i % 3 WHEN 0 THEN '["no-basis"]' ELSE '[]' END,
        'cz@1',
        '[{"id":"ev_' || i || '","kind":"consent-granted","at":"2026-11-23T12:00:00.000Z","hash":"' || printf('%064d', i) || '"}]',
        '[{"rule":"basis","outcome":"' || CASE i % 3 WHEN 0 THEN 'fail' ELSE 'pass' END || '","detail":"","ruleSet":"cz@1"}]',
        ${now} - (${N} - i) * 1000, NULL, printf('reader%d@bench.example', i % 50000),
        0, CASE i % 3 WHEN 0 THEN 'suppressed' ELSE 'accepted' END, NULL, NULL, ${now}
      FROM n`);
  }
  await deps.db
    .insert(chainHeads)
    .values({ tenantId: tenant.id, chain: "justifications", seq: N, hash: "0".repeat(64) });
  const seedSeconds = (performance.now() - seedStart) / 1000;
  console.log(`seeded ${fmt(N)} justifications in ${seedSeconds.toFixed(1)} s`);

  // The raw keyset scan: the same pages the export reads, nothing done with them.
  const meter = rssMeter();
  meter.start();
  const rawStart = performance.now();
  let after = 0;
  let rawRows = 0;
  for (;;) {
    const page = await deps.db
      .select()
      .from(justifications)
      .where(and(eq(justifications.tenantId, tenant.id), gt(justifications.seq, after)))
      .orderBy(asc(justifications.seq))
      .limit(EXPORT_PAGE_ROWS);
    rawRows += page.length;
    const last = page.at(-1);
    if (!last) break;
    after = last.seq;
  }
  const rawSeconds = (performance.now() - rawStart) / 1000;
  const rawMemory = meter.stop();
  console.log(
    `raw keyset scan: ${fmt(rawRows)} rows in ${rawSeconds.toFixed(1)} s = ${fmt(rawRows / rawSeconds)} rows/s; peak RSS ${rawMemory.peakMiB.toFixed(0)} MiB (+${rawMemory.aboveMiB.toFixed(0)} MiB)`,
  );

  // CSV too with BENCH_EXPORT_CSV=1 (it adds about as long again).
  const formats =
    process.env.BENCH_EXPORT_CSV === "1" ? (["ndjson", "csv"] as const) : (["ndjson"] as const);
  for (const format of formats) {
    meter.start();
    const start = performance.now();
    let rows = 0;
    const { stream } = await exportProofs(deps, tenant.id, {}, format, {
      onRows: (n) => {
        rows = n;
      },
    });
    let bytes = 0;
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
    }
    const seconds = (performance.now() - start) / 1000;
    const memory = meter.stop();
    console.log(
      `export ${format}: ${fmt(rows)} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(1)} s = ${fmt(rows / seconds)} rows/s (${((rows / seconds / (rawRows / rawSeconds)) * 100).toFixed(0)}% of the raw scan); peak RSS ${memory.peakMiB.toFixed(0)} MiB (+${memory.aboveMiB.toFixed(0)} MiB)`,
    );
  }
} finally {
  gateway.dispose();
}
