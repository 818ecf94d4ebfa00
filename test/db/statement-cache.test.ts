import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Client } from "@libsql/client";
import { sql } from "drizzle-orm";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Database as Db } from "../../src/db/database.js";
import { openDatabase, statementCacheCapacity } from "../../src/db/node.js";
import { yieldToOtherWork } from "../../src/services/yield-to-other-work.js";

/**
 * The native libsql driver frees a prepared statement only when the event
 * loop next turns (tursodatabase/libsql-js#153), which a run of awaited
 * queries on an embedded file never lets it do; our patch of @libsql/client
 * re-uses one per SQL text and connection. These fail if an upgrade of
 * either drops it.
 */
let dir: string;
let db: Db;
let close: () => void;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-statement-cache-"));
  ({ db, close } = await openDatabase({
    url: `file:${join(dir, "test.db")}`,
    migrationsFolder: "drizzle",
  }));
  await db.run(sql`create table scratch (id integer primary key, v text not null unique)`);
});

afterAll(() => {
  close();
  rmSync(dir, { recursive: true, force: true });
});

/** The message of the driver's error that `query` fails with (drizzle wraps it). */
async function failure(query: Promise<unknown>): Promise<string> {
  try {
    await query;
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : "";
    return `${String(e)} ${cause}`;
  }
  throw new Error("the query succeeded");
}

/** Collects garbage, so that RSS measures what the JS heap cannot free. */
function collect(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("@libsql/client re-uses prepared statements", () => {
  it("is patched, in its ESM and its CommonJS build", () => {
    expect(statementCacheCapacity()).toBeGreaterThanOrEqual(500);
    const cjs = createRequire(import.meta.url)("@libsql/client/sqlite3") as Record<string, unknown>;
    expect(cjs.STATEMENT_CACHE_CAPACITY).toBe(statementCacheCapacity());
  });

  it("prepares a statement once however often it runs, and binds each run's arguments", async () => {
    const prepare = vi.spyOn(Database.prototype, "prepare");
    try {
      for (let i = 0; i < 50; i++) {
        const row = await db.get<{ v: string; n: number }>(sql`select ${`x${i}`} as v, ${i} as n`);
        expect(row).toEqual({ v: `x${i}`, n: i });
      }
      await db.run(sql`insert into scratch (id, v) values (${1}, ${"a"})`);
      await db.run(sql`insert into scratch (id, v) values (${2}, ${"b"})`);
      expect(prepare).toHaveBeenCalledTimes(2);
    } finally {
      prepare.mockRestore();
    }
  });

  it("returns integers as numbers and refuses an unsafe one, as before", async () => {
    // drizzle() gives the database its client; our Database type leaves it out
    const client = (db as Db & { $client: Client }).$client;
    const big = 2n ** 60n;
    const small = await client.execute({ sql: "select ? as n, 1.5 as r", args: [7] });
    expect(small.rows[0]?.n).toBe(7);
    expect(small.rows[0]?.r).toBe(1.5);
    await expect(client.execute({ sql: "select ? as n, 1.5 as r", args: [big] })).rejects.toThrow(
      RangeError,
    );
    const asText = await client.execute({ sql: "select cast(? as text) as n", args: [big] });
    expect(asText.rows[0]?.n).toBe(String(big));
    // a write still reports its row and count
    const written = await client.execute({
      sql: "insert into scratch (id, v) values (?, ?)",
      args: [10, "ten"],
    });
    expect(written.rowsAffected).toBe(1);
    expect(written.lastInsertRowid).toBe(10n);
  });

  it("rolls a failing batch back, and the statements it shared still work", async () => {
    const insert = (id: number, v: string) =>
      db.run(sql`insert into scratch (id, v) values (${id}, ${v})`);
    expect(await failure(db.batch([insert(20, "c"), insert(21, "a")]))).toMatch(/UNIQUE/);
    const kept = await db.all<{ id: number }>(sql`select id from scratch where id >= ${20}`);
    expect(kept).toEqual([]);
    expect(await failure(insert(22, "a"))).toMatch(/UNIQUE/);
    await db.batch([insert(20, "c"), insert(21, "d")]);
    const rows = await db.all<{ id: number; v: string }>(
      sql`select id, v from scratch where id >= ${20} order by id`,
    );
    expect(rows).toEqual([
      { id: 20, v: "c" },
      { id: 21, v: "d" },
    ]);
  });

  it("reads every row again after a read that failed part-way", async () => {
    const read = (bad: number) =>
      db.all<{ n: number }>(
        sql`select value as n, json(case when value = ${bad} then 'not json' else '1' end) as j
            from json_each(${JSON.stringify(Array.from({ length: 300 }, (_, i) => i))})`,
      );
    expect(await failure(read(250))).toMatch(/JSON/);
    expect(await read(-1)).toHaveLength(300);
  });

  it("evicts the least recently used statement beyond its capacity and prepares it again", async () => {
    const capacity = statementCacheCapacity() ?? 0;
    for (let i = 0; i <= capacity; i++) {
      await db.get(sql.raw(`select ${i} as n`));
    }
    expect(await db.get(sql.raw("select 0 as n"))).toEqual({ n: 0 });
  });

  it("gives back the row cursors of reads once the event loop turns", async () => {
    // Each read's cursor (~1 KB in the driver) is freed by a finalizer that
    // runs only when the event loop turns: long jobs yield to it
    // (yieldToOtherWork). Without the yields these 100,000 reads hold them
    // all until they end: RSS grows by ~70 MiB, against a few MiB with them.
    const reads = 100_000;
    const readAll = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await db.all(sql`select ${i} as n`);
        if (i % 1_000 === 999) await yieldToOtherWork();
      }
      await yieldToOtherWork();
      collect();
      await yieldToOtherWork();
    };
    // The heap and the allocator grow to their working size first.
    await readAll(20_000);
    const before = process.memoryUsage().rss;
    await readAll(reads);
    const grownMiB = (process.memoryUsage().rss - before) / 1024 / 1024;
    expect(grownMiB, `${reads} reads grew RSS by ${grownMiB.toFixed(1)} MiB`).toBeLessThan(30);
  });

  it("keeps memory flat over thousands of statements with distinct arguments", async () => {
    // Unpatched, each statement holds its ~3 KB and its 1 KB argument until
    // the event loop turns, which this run of awaited batches never lets it
    // do: these 30,000 grew RSS by ~200 MiB. Patched, RSS grows by ~15-30 MiB
    // whether 10,000 or 60,000 run (SQLite's and the allocator's caches
    // filling).
    const statements = 30_000;
    const batch = 1_000;
    const write = async (from: number) => {
      const writes = Array.from({ length: batch }, (_, i) =>
        db.run(
          sql`insert into scratch (id, v) values (${1_000 + from + i}, ${`${from + i}`.padEnd(1_000, "x")})
              on conflict (id) do update set v = excluded.v`,
        ),
      );
      await db.batch(writes as [(typeof writes)[number], ...typeof writes]);
    };
    await write(0);
    collect();
    const before = process.memoryUsage().rss;
    for (let from = 0; from < statements; from += batch) await write(from);
    collect();
    const grownMiB = (process.memoryUsage().rss - before) / 1024 / 1024;
    expect(
      grownMiB,
      `${statements} statements grew RSS by ${grownMiB.toFixed(1)} MiB`,
    ).toBeLessThan(80);
    const count = await db.get<{ n: number }>(
      sql`select count(*) as n from scratch where id >= 1000`,
    );
    expect(count?.n).toBe(statements);
  });
});
