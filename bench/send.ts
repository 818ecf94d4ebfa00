/**
 * A 10,000-recipient send — decide, prove (chained justifications), deliver
 * to the local outbox — against a temp libSQL file, beside the raw libSQL
 * multi-row insert rate measured in the same run on the same machine.
 * Run alone with `npx tsx bench/send.ts`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { readConfig } from "../src/config.js";
import { evidence, subjects } from "../src/db/schema.js";
import { normaliseAddress } from "../src/domain/address.js";
import { createNodeGateway } from "../src/entry/node-gateway.js";
import { createTenant } from "../src/services/create-tenant.js";
import { defineTopic } from "../src/services/define-topic.js";
import { subjectKeyOf } from "../src/services/deps.js";
import { newEvidence } from "../src/services/evidence/rows.js";
import { sendMessage } from "../src/services/messages/send-message.js";
import { loadTenant } from "../src/services/tenant.js";

const N = 10_000;
const dir = mkdtempSync(join(tmpdir(), "grounds-bench-send-"));
const gateway = await createNodeGateway(
  readConfig({
    DATABASE_URL: `file:${join(dir, "bench.db")}`,
    GROUNDS_SECRET: "bench-secret-0123456789-0123456789-0123456789",
    GROUNDS_OPERATOR_TOKEN: "bench-operator-token-0123456789",
  }),
);
const { deps } = gateway;

try {
  // The raw rate: multi-row INSERTs of 1,000 rows as wide as a justification,
  // in one transaction, on this machine now.
  await deps.db.run(
    sql.raw(
      `CREATE TABLE raw_rows (${Array.from({ length: 21 }, (_, i) => `c${i} TEXT`).join(", ")})`,
    ),
  );
  const row = Array.from({ length: 21 }, (_, i) => `value-${i}-${"x".repeat(i * 8)}`);
  const rawStart = performance.now();
  await deps.db.transaction(async (tx) => {
    for (let start = 0; start < N; start += 1000) {
      const values = Array.from(
        { length: 1000 },
        () =>
          sql`(${sql.join(
            row.map((v) => sql`${v}`),
            sql`, `,
          )})`,
      );
      await tx.run(sql`INSERT INTO raw_rows VALUES ${sql.join(values, sql`, `)}`);
    }
  });
  const rawRate = N / ((performance.now() - rawStart) / 1000);

  const { tenant } = await createTenant(deps, {
    name: "Bench",
    legalName: "Bench s.r.o.",
    address: "Street 1, Praha",
    registrationId: "CZ00000000",
    contactEmail: "privacy@bench.example",
    domains: ["bench.example"],
    country: "CZ",
    mode: "jurisdictional",
  });
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
  const start = performance.now();
  const result = await sendMessage(deps, tenantRow, request);
  const seconds = (performance.now() - start) / 1000;
  const sendRate = N / seconds;
  console.log(`raw libSQL multi-row insert: ${Math.round(rawRate).toLocaleString("en")} rows/s`);
  console.log(
    `send of ${N.toLocaleString("en")} recipients (decide + prove + outbox): ${seconds.toFixed(2)} s = ${Math.round(sendRate).toLocaleString("en")} recipients/s (${result.counts.send} sent, ${result.counts.suppress} suppressed)`,
  );
  console.log(`ratio send / raw insert: ${(sendRate / rawRate).toFixed(2)} (target ≥ 0.5)`);
} finally {
  gateway.close();
  rmSync(dir, { recursive: true, force: true });
}
