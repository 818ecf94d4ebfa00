/**
 * A 10,000-recipient send — decide, prove (chained justifications), deliver
 * to the local outbox — against a temp libSQL file, beside the raw libSQL
 * multi-row insert rate measured in the same run on the same machine.
 * Each of three rounds inserts raw, then sends; the medians are compared.
 * The time the send spends inside the libSQL client is reported too: what
 * the send would take if all its JavaScript cost nothing.
 * Run alone with `npx tsx bench/send.ts`.
 */

import { type Client, createClient } from "@libsql/client";
import { evidence, subjects } from "../src/db/schema.js";
import { normaliseAddress } from "../src/domain/address.js";
import { defineTopic } from "../src/services/define-topic.js";
import { subjectKeyOf } from "../src/services/deps.js";
import { newEvidence } from "../src/services/evidence/rows.js";
import { sendMessage } from "../src/services/messages/send-message.js";
import { loadTenant } from "../src/services/tenant.js";
import { timeDatabase } from "./support/database-time.js";
import { benchGateway, benchTenant } from "./support/gateway.js";

const N = 10_000;
const ROUNDS = 3;
const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const rate = (value: number | undefined) => Math.round(value ?? 0).toLocaleString("en");
const gateway = await benchGateway("send");
const { deps } = gateway;

try {
  // The raw rate: multi-row INSERTs of 1,000 rows as wide as a justification,
  // through the libSQL client itself (no ORM), in one transaction, here, now.
  const client = createClient({ url: gateway.databaseUrl });
  await client.execute(
    `CREATE TABLE raw_rows (${Array.from({ length: 21 }, (_, i) => `c${i} TEXT`).join(", ")})`,
  );
  const row = Array.from({ length: 21 }, (_, i) => `value-${i}-${"x".repeat(i * 8)}`);
  const placeholders = Array.from(
    { length: 1000 },
    () => `(${row.map(() => "?").join(", ")})`,
  ).join(", ");
  const args = Array.from({ length: 1000 }, () => row).flat();
  const rawInsert = async () => {
    const rawStart = performance.now();
    await client.batch(
      Array.from({ length: N / 1000 }, () => ({
        sql: `INSERT INTO raw_rows VALUES ${placeholders}`,
        args,
      })),
      "write",
    );
    return N / ((performance.now() - rawStart) / 1000);
  };

  const tenant = await benchTenant(deps);
  await defineTopic(deps, tenant.id, {
    id: "tips",
    name: "Tips",
    class: "marketing",
    categories: ["a"],
  });
  // Mixed evidence: two thirds consented, one in three of those objected later.
  const now = deps.clock();
  const email = (i: number) => `reader${i}@bench.example`;
  const subjectRows = [];
  const evidenceRows = [];
  for (let i = 0; i < N; i++) {
    if (i % 3 === 2) continue;
    const subjectKey = subjectKeyOf(deps, tenant.id, normaliseAddress(email(i)));
    const subject = { tenantId: tenant.id, subjectKey, email: email(i) };
    subjectRows.push({ ...subject, createdAt: now, updatedAt: now });
    evidenceRows.push(
      newEvidence(deps, subject, {
        kind: "consent-granted",
        topic: "tips",
        at: now - 60 * 86_400_000,
        data: { method: "web-form", confirmedAt: null },
      }),
    );
    if (i % 3 === 1) {
      evidenceRows.push(
        newEvidence(deps, subject, {
          kind: "objection",
          topic: "*",
          at: now - 86_400_000,
          data: { channel: "email" },
        }),
      );
    }
  }
  for (let i = 0; i < subjectRows.length; i += 500)
    await deps.db.insert(subjects).values(subjectRows.slice(i, i + 500));
  for (let i = 0; i < evidenceRows.length; i += 500)
    await deps.db.insert(evidence).values(evidenceRows.slice(i, i + 500));

  const tenantRow = await loadTenant(deps, tenant.id);
  const request = {
    topic: "tips",
    from: { email: "news@bench.example", name: "Bench" },
    subject: "Hello",
    html: "<p>Hello</p>",
    recipients: Array.from({ length: N }, (_, i) => ({ email: email(i) })),
  };
  // Machines that share their CPU vary from minute to minute, so the raw
  // insert and the send take turns, ROUNDS times, and the medians are compared.
  const rawRates: number[] = [];
  const sendRates: number[] = [];
  const databaseRates: number[] = [];
  // drizzle keeps the client it was given as `$client` (the Database type leaves it out).
  const database = timeDatabase((deps.db as typeof deps.db & { $client: Client }).$client);
  let result: Awaited<ReturnType<typeof sendMessage>> | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    rawRates.push(await rawInsert());
    database.take();
    const start = performance.now();
    result = await sendMessage(deps, tenantRow, request);
    // The hand-off to the outbox follows the answer (the delivery worker): timed until done.
    await gateway.idle();
    const seconds = (performance.now() - start) / 1000;
    const inDatabase = database.take() / 1000;
    sendRates.push(N / seconds);
    databaseRates.push(N / inDatabase);
    console.log(
      `round ${round}: raw insert ${rate(rawRates.at(-1))} rows/s; send ${seconds.toFixed(2)} s = ${rate(sendRates.at(-1))} recipients/s, of which ${inDatabase.toFixed(2)} s inside libSQL`,
    );
  }
  const rawRate = median(rawRates);
  const sendRate = median(sendRates);
  console.log(`raw libSQL multi-row insert (median of ${ROUNDS}): ${rate(rawRate)} rows/s`);
  console.log(
    `send of ${N.toLocaleString("en")} recipients (decide + prove + outbox; median of ${ROUNDS}): ${rate(sendRate)} recipients/s (${result?.counts.send} sent, ${result?.counts.suppress} suppressed)`,
  );
  console.log(`ratio send / raw insert: ${(sendRate / rawRate).toFixed(2)} (target ≥ 0.5)`);
  // The ceiling no JavaScript work can lift: the send's statements alone
  // (10,000 indexed justifications and their commit, the recipients'
  // histories, the outbox rows, each chunk's claim and outcome).
  const databaseRate = median(databaseRates);
  console.log(
    `the send's libSQL work alone (median of ${ROUNDS}): ${rate(databaseRate)} recipients/s; ratio that / raw insert: ${(databaseRate / rawRate).toFixed(2)} — the most any JavaScript speed-up can reach`,
  );

  // The same 10,000 justification rows inserted raw into a table of the same
  // shape and indexes: what writing the proof alone costs, with no deciding,
  // hashing or delivery.
  const copied = await client.execute({
    sql: "SELECT * FROM justifications WHERE message_id = ?",
    args: [result?.messageId ?? ""],
  });
  await client.executeMultiple(`
    CREATE TABLE raw_justifications AS SELECT * FROM justifications WHERE 0;
    CREATE UNIQUE INDEX raw_j_chain ON raw_justifications (tenant_id, seq);
    CREATE INDEX raw_j_message ON raw_justifications (message_id, chunk);
    CREATE INDEX raw_j_subject ON raw_justifications (tenant_id, subject_key);
    CREATE INDEX raw_j_decided ON raw_justifications (tenant_id, decided_at);`);
  const columns = copied.columns.length;
  const rowPlaceholder = `(${Array.from({ length: columns }, () => "?").join(", ")})`;
  const statements = [];
  for (let start = 0; start < copied.rows.length; start += 1000) {
    const slice = copied.rows.slice(start, start + 1000);
    statements.push({
      sql: `INSERT INTO raw_justifications VALUES ${slice.map(() => rowPlaceholder).join(", ")}`,
      args: slice.flatMap((r) => Array.from({ length: columns }, (_, i) => r[i] ?? null)),
    });
  }
  const sameStart = performance.now();
  await client.batch(statements, "write");
  const sameRate = copied.rows.length / ((performance.now() - sameStart) / 1000);
  console.log(
    `raw libSQL insert of the same justification rows (same indexes): ${Math.round(sameRate).toLocaleString("en")} rows/s; ratio send / that: ${(sendRate / sameRate).toFixed(2)}`,
  );
  client.close();
} finally {
  gateway.dispose();
}
