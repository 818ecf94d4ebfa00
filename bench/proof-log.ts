/**
 * The proof log's own costs (issue 19, docs/design.md §6), against a temp libSQL
 * file, beside a raw insert of narrow rows in the same run:
 * - the proof store's write: entries, stored nodes, head and a signed
 *   checkpoint per batch of 1,000, vs 10,000 raw 8-column rows;
 * - receipts per second at the log's full size;
 * - a full integrity verification: entries per second and peak RSS;
 * - anchoring: one RFC 3161 round trip to a local authority (openssl).
 * PROOF_LOG_ENTRIES sets the log's size (default 200,000; 1,000,000 for the
 * issue's figure, which takes minutes here).
 */
import { createClient } from "@libsql/client";
import { entryText, evidenceEntry } from "../src/domain/proof/log-entry.js";
import { anchorLog } from "../src/services/proofs/anchor-log.js";
import { planLogAppend, readLogHead } from "../src/services/proofs/log-store.js";
import { receiptAt } from "../src/services/proofs/receipt.js";
import { verifyLog } from "../src/services/proofs/verify-log.js";
import { startTestTsa } from "../test/support/tsa-server.js";
import { benchGateway, benchTenant } from "./support/gateway.js";

const ENTRIES = Number(process.env.PROOF_LOG_ENTRIES ?? 200_000);
const BATCH = 1000;
const RAW = 10_000;

const gateway = await benchGateway("proof-log");
const tsa = await startTestTsa();
try {
  const deps = { ...gateway.deps, tsaUrl: tsa.url };
  const tenant = await benchTenant(deps);

  // The raw narrow insert, same file, same run.
  const client = createClient({ url: gateway.databaseUrl });
  await client.execute(
    `CREATE TABLE raw_narrow (${Array.from({ length: 8 }, (_, i) => `c${i} TEXT`).join(", ")})`,
  );
  const rawStart = performance.now();
  const row = `(${Array.from({ length: 8 }, () => "?").join(", ")})`;
  const rawStatements = [];
  for (let i = 0; i < RAW; i += 1000) {
    const args: string[] = [];
    for (let j = 0; j < 1000; j++) {
      for (let c = 0; c < 8; c++) args.push(`v${i + j}-${c}-${"x".repeat(24)}`);
    }
    rawStatements.push({
      sql: `INSERT INTO raw_narrow VALUES ${Array.from({ length: 1000 }, () => row).join(", ")}`,
      args,
    });
  }
  await client.batch(rawStatements, "write");
  const rawRate = RAW / ((performance.now() - rawStart) / 1000);
  client.close();

  // The proof store's write, batch by batch, as appends make it.
  const base = Date.parse("2026-11-01T00:00:00Z");
  let writeMs = 0;
  for (let start = 0; start < ENTRIES; start += BATCH) {
    const writes = Array.from({ length: Math.min(BATCH, ENTRIES - start) }, (_, i) => ({
      kind: "evidence" as const,
      ref: null,
      text: entryText(
        evidenceEntry({
          id: `evi_${start + i}`,
          subjectKey: (start + i).toString(16).padStart(64, "0"),
          kind: "consent-granted",
          topic: "tips",
          occurredAt: base + start + i,
          recordedAt: base + start + i,
          data: { method: "web-form", wording: "v1" },
        }),
      ),
    }));
    const began = performance.now();
    const head = await readLogHead(deps, tenant.id);
    const { statements } = await planLogAppend(deps, tenant.id, head, writes);
    const [first, ...rest] = statements;
    if (first) await deps.db.batch([first, ...rest]);
    writeMs += performance.now() - began;
  }
  const writeRate = ENTRIES / (writeMs / 1000);
  console.log(
    `proof store write: ${Math.round(writeRate).toLocaleString("en")} entries/s (batches of ${BATCH}, each with its signed checkpoint); raw narrow insert ${Math.round(rawRate).toLocaleString("en")} rows/s; ratio ${(writeRate / rawRate).toFixed(2)}`,
  );

  const RECEIPTS = 500;
  const receiptStart = performance.now();
  for (let i = 0; i < RECEIPTS; i++) {
    const index = Math.floor((i / RECEIPTS) * ENTRIES);
    const answer = await receiptAt(deps, tenant.id, index);
    if (!("receipt" in answer)) throw new Error(`no receipt for ${index}`);
  }
  const receiptRate = RECEIPTS / ((performance.now() - receiptStart) / 1000);
  console.log(
    `receipts: ${Math.round(receiptRate).toLocaleString("en")}/s at ${ENTRIES.toLocaleString("en")} entries`,
  );

  const integrityStart = performance.now();
  const report = await verifyLog(deps, tenant.id);
  const integritySeconds = (performance.now() - integrityStart) / 1000;
  if (!report.ok) throw new Error(`integrity failed: ${JSON.stringify(report)}`);
  console.log(
    `integrity: ${Math.round(report.entriesChecked / integritySeconds).toLocaleString("en")} entries/s (${report.checkpointsChecked.toLocaleString("en")} checkpoints' signatures), peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
  );

  const anchorStart = performance.now();
  const anchored = await anchorLog(deps, tenant.id);
  if (!anchored.anchored) throw new Error(`anchoring failed: ${anchored.reason}`);
  console.log(
    `anchoring: ${Math.round(performance.now() - anchorStart)} ms per anchor (local openssl TSA, one round trip)`,
  );
} finally {
  await tsa.stop();
  gateway.dispose();
}
