import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertBoundRows } from "../../src/db/bound-rows.js";
import type { Database } from "../../src/db/database.js";
import { openDatabase } from "../../src/db/node.js";
import { outbox } from "../../src/db/schema.js";
import { MIGRATIONS_FOLDER } from "../../src/entry/node-gateway.js";

/** Bulk inserts with bound values: every row written as given, in few statement shapes. */

const dir = mkdtempSync(join(tmpdir(), "grounds-bound-rows-"));
let db: Database;
let close: () => void;

beforeAll(async () => {
  ({ db, close } = await openDatabase({
    url: `file:${join(dir, "rows.db")}`,
    migrationsFolder: MIGRATIONS_FOLDER,
  }));
});
afterAll(() => {
  close();
  rmSync(dir, { recursive: true, force: true });
});

function row(i: number) {
  return {
    id: `out_${String(i).padStart(6, "0")}`,
    tenantId: "ten_1",
    justificationId: i % 2 ? `jus_${i}` : null,
    to: `r${i}@example.cz`,
    from: "news@optika.example",
    subject: `Hello, "${i}"; it's ${"é".repeat(i % 3)}`,
    headers: { "List-Unsubscribe": `<https://x.example/u/${i}>`, n: String(i) },
    text: null,
    html: undefined,
    createdAt: 1_700_000_000_000 + i,
    mailId: "outmail_1",
    substitutions: i % 5 ? { "%%a%%": `value ${i}` } : null,
  };
}

describe("insertBoundRows", () => {
  it("writes every row as given, JSON columns as JSON, absent values as NULL", async () => {
    const rows = Array.from({ length: 2345 }, (_, i) => row(i));
    const inserts = insertBoundRows(outbox, rows);
    await db.batch(inserts.map((insert) => db.run(insert)) as [never, ...never[]]);
    const stored = await db.select().from(outbox).orderBy(asc(outbox.id));
    expect(stored).toEqual(rows.map((r) => ({ ...r, html: null })));
  });

  it("splits rows into 1,000s and then powers of two: few statement shapes, ⌈n/1000⌉ + a few statements", () => {
    const sizes = (n: number) =>
      insertBoundRows(
        outbox,
        Array.from({ length: n }, (_, i) => row(i)),
      ).map((insert) => (insert.toQuery({} as never).params as unknown[]).length / 12);
    expect(sizes(2345)).toEqual([1000, 1000, 256, 64, 16, 8, 1]);
    expect(sizes(1000)).toEqual([1000]);
    expect(sizes(3)).toEqual([2, 1]);
    expect(sizes(0)).toEqual([]);
    const texts = new Set<string>();
    for (let n = 1; n <= 2100; n += 7) {
      for (const insert of insertBoundRows(
        outbox,
        Array.from({ length: n }, (_, i) => row(i)),
      )) {
        texts.add(insert.toQuery({} as never).sql);
      }
    }
    expect(texts.size).toBeLessThanOrEqual(11);
  });
});
