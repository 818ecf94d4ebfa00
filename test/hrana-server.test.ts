import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Client, createClient } from "@libsql/client/web";
import { eq, sql, TransactionRollbackError } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql/web";
import { blob, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HranaServer, startHranaServer } from "./support/hrana-server.js";

let dir: string;
let server: HranaServer;
/** intMode "bigint" so integers beyond 2^53 survive the round trip. */
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-hrana-"));
  server = await startHranaServer({ dbPath: join(dir, "test.db") });
  client = createClient({ url: server.url, intMode: "bigint" });
});

afterAll(async () => {
  client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("@libsql/client/web against the Hrana test server", () => {
  it("round-trips every value type", async () => {
    await client.execute(
      "CREATE TABLE vals (id INTEGER PRIMARY KEY, n, i INTEGER, f REAL, t TEXT, b BLOB)",
    );
    const big = 9_007_199_254_740_993n; // 2^53 + 1: not representable as a JS number
    const bytes = new Uint8Array([0, 1, 127, 128, 255]);
    const inserted = await client.execute({
      sql: "INSERT INTO vals (n, i, f, t, b) VALUES (?, ?, ?, ?, ?)",
      args: [null, big, 1.5, "héllo ✓", bytes],
    });
    expect(inserted.rowsAffected).toBe(1);
    expect(inserted.lastInsertRowid).toBe(1n);
    expect(inserted.columns).toEqual([]);

    const rs = await client.execute(
      "SELECT n, i, f, t, b, typeof(n), typeof(i), typeof(f), typeof(t), typeof(b) FROM vals",
    );
    expect(rs.columns).toEqual([
      "n",
      "i",
      "f",
      "t",
      "b",
      "typeof(n)",
      "typeof(i)",
      "typeof(f)",
      "typeof(t)",
      "typeof(b)",
    ]);
    expect(rs.columnTypes.slice(0, 5)).toEqual(["", "INTEGER", "REAL", "TEXT", "BLOB"]);
    expect(rs.rowsAffected).toBe(0);
    expect(rs.lastInsertRowid).toBeUndefined();
    const row = rs.rows[0];
    expect(row).toBeDefined();
    expect([row?.n, row?.i, row?.f, row?.t]).toEqual([null, big, 1.5, "héllo ✓"]);
    expect(new Uint8Array(row?.b as ArrayBuffer)).toEqual(bytes);
    expect(Array.from(row ?? []).slice(5)).toEqual(["null", "integer", "real", "text", "blob"]);
  });

  it("binds JS numbers as REAL and named arguments with or without a prefix, like sqld", async () => {
    const rs = await client.execute({
      sql: "SELECT typeof(:a) AS a, @b AS b, $c AS c",
      args: { a: 42, b: "bee", $c: 7n },
    });
    expect(rs.rows[0]).toMatchObject({ a: "real", b: "bee", c: 7n });
  });

  it("reports errors with sqld's codes", async () => {
    await client.execute("CREATE TABLE uniq (id INTEGER PRIMARY KEY)");
    await client.execute("INSERT INTO uniq VALUES (1)");
    await expect(client.execute("INSERT INTO uniq VALUES (1)")).rejects.toMatchObject({
      code: "SQLITE_CONSTRAINT",
      message: "SQLITE_CONSTRAINT: SQLite error: UNIQUE constraint failed: uniq.id",
    });
    await expect(client.execute("SELECT 1; SELECT 2")).rejects.toMatchObject({
      code: "SQL_MANY_STATEMENTS",
    });
    await expect(client.execute({ sql: "SELECT ?, ?", args: [1] })).rejects.toMatchObject({
      code: "ARGS_INVALID",
    });
    await expect(client.execute("SELEC 1")).rejects.toMatchObject({ code: "SQLITE_ERROR" });
  });

  it("is not fooled by quotes, comments or identifiers when splitting and binding SQL", async () => {
    await client.execute('CREATE TABLE "odd;?name" (a$b INTEGER, [c;d] TEXT, `e?` BLOB)');
    const rs = await client.execute({
      sql: `INSERT INTO "odd;?name" VALUES (?, '?;--', x'00ff') /* ; ? */ RETURNING a$b, [c;d];
            -- trailing comment; with ? in it`,
      args: [1n],
    });
    expect(rs.rows[0]).toMatchObject({ a$b: 1n, "c;d": "?;--" });
    const json = await client.execute(
      `SELECT json_extract('{"a":[1,2]}', '$.a[1]') AS v, 1e-1 AS f`,
    );
    expect(json.rows[0]).toMatchObject({ v: 2n, f: 0.1 });
  });

  it("runs a write batch atomically", async () => {
    await client.execute("CREATE TABLE batched (id INTEGER PRIMARY KEY, v TEXT)");
    const ok = await client.batch(
      [
        { sql: "INSERT INTO batched VALUES (?, ?)", args: [1n, "one"] },
        { sql: "INSERT INTO batched VALUES (?, ?)", args: [2n, "two"] },
        "SELECT count(*) AS n FROM batched",
      ],
      "write",
    );
    expect(ok.map((r) => r.rowsAffected)).toEqual([1, 1, 0]);
    expect(ok[2]?.rows[0]?.n).toBe(2n);

    // The second insert collides, so the first must be rolled back with it.
    await expect(
      client.batch(
        [
          { sql: "INSERT INTO batched VALUES (?, ?)", args: [3n, "three"] },
          { sql: "INSERT INTO batched VALUES (?, ?)", args: [1n, "duplicate"] },
        ],
        "write",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT", statementIndex: 1 });
    const rs = await client.execute("SELECT id FROM batched ORDER BY id");
    expect(rs.rows.map((r) => r.id)).toEqual([1n, 2n]);
  });

  it("keeps an interactive transaction on one connection until it commits", async () => {
    await client.execute("CREATE TABLE tx_commit (v TEXT)");
    const tx = await client.transaction("write");
    await tx.execute({ sql: "INSERT INTO tx_commit VALUES (?)", args: ["inside"] });
    expect((await tx.execute("SELECT count(*) AS n FROM tx_commit")).rows[0]?.n).toBe(1n);
    // Other streams read the last committed snapshot (WAL) ...
    expect((await client.execute("SELECT count(*) AS n FROM tx_commit")).rows[0]?.n).toBe(0n);

    // ... and a writer waits for the lock instead of failing straight away.
    let outsideDone = false;
    const outside = client
      .execute({ sql: "INSERT INTO tx_commit VALUES (?)", args: ["outside"] })
      .then(() => {
        outsideDone = true;
      });
    await sleep(100);
    expect(outsideDone).toBe(false);

    await tx.commit();
    await outside;
    const rs = await client.execute("SELECT v FROM tx_commit ORDER BY rowid");
    expect(rs.rows.map((r) => r.v)).toEqual(["inside", "outside"]);
  });

  it("rolls an interactive transaction back", async () => {
    await client.execute("CREATE TABLE tx_rollback (v TEXT)");
    const tx = await client.transaction("write");
    await tx.batch([
      { sql: "INSERT INTO tx_rollback VALUES (?)", args: ["a"] },
      { sql: "INSERT INTO tx_rollback VALUES (?)", args: ["b"] },
    ]);
    expect((await tx.execute("SELECT count(*) AS n FROM tx_rollback")).rows[0]?.n).toBe(2n);
    await tx.rollback();
    expect(tx.closed).toBe(true);
    expect((await client.execute("SELECT count(*) AS n FROM tx_rollback")).rows[0]?.n).toBe(0n);
  });

  it("gives a read transaction a stable snapshot while others write", async () => {
    await client.execute("CREATE TABLE snapshot_t (v TEXT)");
    await client.execute("INSERT INTO snapshot_t VALUES ('before')");
    const tx = await client.transaction("read");
    expect((await tx.execute("SELECT count(*) AS n FROM snapshot_t")).rows[0]?.n).toBe(1n);
    await client.execute("INSERT INTO snapshot_t VALUES ('during')");
    expect((await tx.execute("SELECT count(*) AS n FROM snapshot_t")).rows[0]?.n).toBe(1n);
    await tx.rollback();
    expect((await client.execute("SELECT count(*) AS n FROM snapshot_t")).rows[0]?.n).toBe(2n);
  });

  it("runs scripts with executeMultiple, triggers included", async () => {
    await client.executeMultiple(`
      CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
      CREATE TABLE audit (note_id INTEGER, body TEXT);
      -- A trigger body has its own semicolons; so does this comment.
      CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN
        INSERT INTO audit VALUES (new.id, new.body || ';');
      END;
      INSERT INTO notes (body) VALUES ('first'), ('second; with a semicolon');
    `);
    const rs = await client.execute("SELECT note_id, body FROM audit ORDER BY note_id");
    expect(rs.rows.map((r) => [r.note_id, r.body])).toEqual([
      [1n, "first;"],
      [2n, "second; with a semicolon;"],
    ]);

    // Not atomic, as on sqld: statements before the failing one stay applied.
    await expect(
      client.executeMultiple(
        "INSERT INTO notes (body) VALUES ('kept'); INSERT INTO missing VALUES (1);",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_ERROR" });
    const kept = await client.execute("SELECT count(*) AS n FROM notes WHERE body = 'kept'");
    expect(kept.rows[0]?.n).toBe(1n);
  });

  it("returns rows from INSERT … RETURNING with the insert's rowid", async () => {
    await client.execute("CREATE TABLE returning_t (id INTEGER PRIMARY KEY, v TEXT)");
    const rs = await client.execute({
      sql: "INSERT INTO returning_t (v) VALUES (?), (?) RETURNING id, v",
      args: ["x", "y"],
    });
    expect(rs.rows.map((r) => [r.id, r.v])).toEqual([
      [1n, "x"],
      [2n, "y"],
    ]);
    expect(rs.rowsAffected).toBe(2);
    expect(rs.lastInsertRowid).toBe(2n);
  });
});

describe("the Hrana protocol, spoken directly", () => {
  interface PipelineResponse {
    baton: string | null;
    results: { type: string; response?: Record<string, unknown>; error?: { code: string } }[];
  }

  async function pipeline(body: object): Promise<PipelineResponse> {
    const res = await fetch(`${server.url}/v2/pipeline`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as PipelineResponse;
  }

  it("evaluates batch conditions, stored SQL, describe and get_autocommit", async () => {
    const out = await pipeline({
      requests: [
        { type: "store_sql", sql_id: 1, sql: "SELECT ? AS v" },
        {
          type: "batch",
          batch: {
            steps: [
              { stmt: { sql: "SELECT 1" } },
              { stmt: { sql: "SELECT no_such_function()" } },
              {
                condition: {
                  type: "and",
                  conds: [
                    { type: "ok", step: 0 },
                    { type: "error", step: 1 },
                  ],
                },
                stmt: { sql: "SELECT 2" },
              },
              {
                condition: {
                  type: "or",
                  conds: [
                    { type: "ok", step: 1 },
                    { type: "not", cond: { type: "is_autocommit" } },
                  ],
                },
                stmt: { sql: "SELECT 3" },
              },
              {
                condition: { type: "is_autocommit" },
                stmt: { sql_id: 1, args: [{ type: "integer", value: "7" }] },
              },
            ],
          },
        },
        { type: "describe", sql: "SELECT :a AS x, ?3 AS y" },
        { type: "describe", sql: "INSERT INTO returning_t (v) VALUES ('z')" },
        { type: "get_autocommit" },
        { type: "close_sql", sql_id: 1 },
        { type: "execute", stmt: { sql_id: 1 } },
        { type: "close" },
      ],
    });
    expect(out.baton).toBeNull();
    const [stored, batch, describeSelect, describeInsert, autocommit, closedSql, missing, close] =
      out.results;
    expect(stored).toEqual({ type: "ok", response: { type: "store_sql" } });
    const result = batch?.response?.result as {
      step_results: ({ rows: unknown[][] } | null)[];
      step_errors: ({ code: string } | null)[];
    };
    expect(result.step_results.map((r) => r?.rows ?? null)).toEqual([
      [[{ type: "integer", value: "1" }]],
      null,
      [[{ type: "integer", value: "2" }]],
      null,
      [[{ type: "integer", value: "7" }]],
    ]);
    expect(result.step_errors.map((e) => e?.code ?? null)).toEqual([
      null,
      "SQLITE_ERROR",
      null,
      null,
      null,
    ]);
    expect(describeSelect?.response?.result).toEqual({
      params: [{ name: ":a" }, { name: null }, { name: "?3" }],
      cols: [
        { name: "x", decltype: null },
        { name: "y", decltype: null },
      ],
      is_explain: false,
      is_readonly: true,
    });
    expect(describeInsert?.response?.result).toMatchObject({ is_readonly: false });
    expect(autocommit?.response).toEqual({ type: "get_autocommit", is_autocommit: true });
    expect(closedSql?.type).toBe("ok");
    expect(missing?.type).toBe("error");
    expect(close).toEqual({ type: "ok", response: { type: "close" } });
  });

  it("hands out single-use batons and rejects unknown ones", async () => {
    const first = await pipeline({ requests: [{ type: "execute", stmt: { sql: "BEGIN" } }] });
    expect(first.baton).toEqual(expect.any(String));
    const second = await pipeline({ baton: first.baton, requests: [{ type: "get_autocommit" }] });
    expect(second.results[0]?.response).toEqual({ type: "get_autocommit", is_autocommit: false });

    const reused = await fetch(`${server.url}/v2/pipeline`, {
      method: "POST",
      body: JSON.stringify({ baton: first.baton, requests: [] }),
    });
    expect(reused.status).toBe(400);
    expect(reused.headers.get("content-type")).toBe("application/json");
    expect(await reused.json()).toMatchObject({ code: "STREAM_EXPIRED" });

    await pipeline({ baton: second.baton, requests: [{ type: "close" }] });
  });

  it("answers the version probes so a client settles on v2 JSON", async () => {
    expect((await fetch(`${server.url}/v2`)).status).toBe(200);
    expect((await fetch(`${server.url}/v3-protobuf`)).status).toBe(404);
    expect((await fetch(`${server.url}/v3`)).status).toBe(404);
  });
});

describe("locking between streams", () => {
  let locking: HranaServer;
  let c: Client;

  beforeAll(async () => {
    locking = await startHranaServer({
      dbPath: join(dir, "locking.db"),
      streamIdleTimeoutMs: 500,
      busyTimeoutMs: 100,
    });
    c = createClient({ url: locking.url });
    await c.execute("CREATE TABLE t (v TEXT)");
  });

  afterAll(async () => {
    c?.close();
    await locking?.close();
  });

  async function pipeline(body: object): Promise<{ baton: string | null; results: unknown[] }> {
    const res = await fetch(`${locking.url}/v2/pipeline`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { baton: string | null; results: unknown[] };
  }

  it("fails a writer with SQLITE_BUSY after the busy timeout, leaving its stream usable", async () => {
    const holder = await c.transaction("write");
    await holder.execute("INSERT INTO t VALUES ('holder')");
    const insert = (v: string) => ({
      type: "execute",
      stmt: { sql: `INSERT INTO t VALUES ('${v}')` },
    });

    const blocked = await pipeline({ requests: [insert("blocked")] });
    expect(blocked.results[0]).toMatchObject({ type: "error", error: { code: "SQLITE_BUSY" } });
    expect(blocked.baton).toEqual(expect.any(String));

    await holder.commit();
    const after = await pipeline({
      baton: blocked.baton,
      requests: [insert("after"), { type: "close" }],
    });
    expect(after.results[0]).toMatchObject({ type: "ok" });
    const rs = await c.execute("SELECT v FROM t ORDER BY rowid");
    expect(rs.rows.map((r) => r.v)).toEqual(["holder", "after"]);
  });

  it("closes idle streams, rolling back their transaction and releasing its lock", async () => {
    await c.execute("DELETE FROM t");
    const abandoned = await c.transaction("write");
    await abandoned.execute("INSERT INTO t VALUES ('abandoned')");
    await sleep(700);

    await c.execute("INSERT INTO t VALUES ('later')");
    await expect(abandoned.commit()).rejects.toMatchObject({ code: "STREAM_EXPIRED" });
    const rs = await c.execute("SELECT v FROM t");
    expect(rs.rows.map((r) => r.v)).toEqual(["later"]);
  });
});

describe("drizzle-orm/libsql/web against the Hrana test server", () => {
  const contacts = sqliteTable("contacts", {
    id: integer("id").primaryKey({ autoIncrement: true }),
    email: text("email").notNull().unique(),
    score: real("score"),
    optedInAt: integer("opted_in_at", { mode: "timestamp_ms" }),
    fingerprint: blob("fingerprint", { mode: "buffer" }),
  });

  let db: ReturnType<typeof drizzle>;

  beforeAll(async () => {
    db = drizzle({ client: createClient({ url: server.url }) });
    await db.run(sql`
      CREATE TABLE contacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL UNIQUE,
        score REAL,
        opted_in_at INTEGER,
        fingerprint BLOB
      )
    `);
  });

  afterAll(() => db?.$client.close());

  it("inserts with RETURNING and selects back every column type", async () => {
    const optedInAt = new Date("2025-05-25T12:00:00.123Z");
    const fingerprint = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const [created] = await db
      .insert(contacts)
      .values({ email: "a@example.com", score: 0.25, optedInAt, fingerprint })
      .returning();
    expect(created).toMatchObject({ email: "a@example.com", score: 0.25, optedInAt });

    const [found] = await db.select().from(contacts).where(eq(contacts.email, "a@example.com"));
    expect(found?.id).toBe(created?.id);
    expect(found?.optedInAt).toEqual(optedInAt);
    expect(Buffer.from(found?.fingerprint ?? []).equals(fingerprint)).toBe(true);
    expect(found?.score).toBe(0.25);
  });

  it("commits and rolls back transactions, including nested savepoints", async () => {
    await db.transaction(async (tx) => {
      await tx.insert(contacts).values({ email: "committed@example.com" });
      await expect(
        tx.transaction(async (inner) => {
          await inner.insert(contacts).values({ email: "inner@example.com" });
          inner.rollback();
        }),
      ).rejects.toBeInstanceOf(TransactionRollbackError);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(contacts).values({ email: "rolled-back@example.com" });
        tx.rollback();
      }),
    ).rejects.toBeInstanceOf(TransactionRollbackError);

    const emails = (await db.select({ email: contacts.email }).from(contacts)).map((r) => r.email);
    expect(emails).toContain("committed@example.com");
    expect(emails).not.toContain("inner@example.com");
    expect(emails).not.toContain("rolled-back@example.com");
  });

  it("runs db.batch atomically", async () => {
    const [inserted, counted] = await db.batch([
      db.insert(contacts).values({ email: "b1@example.com" }),
      db.select({ n: sql<number>`count(*)` }).from(contacts),
    ]);
    expect(inserted.rowsAffected).toBe(1);
    expect(counted[0]?.n).toBeGreaterThan(0);

    await expect(
      db.batch([
        db.insert(contacts).values({ email: "b2@example.com" }),
        db.insert(contacts).values({ email: "b1@example.com" }),
      ]),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
    const b2 = await db.select().from(contacts).where(eq(contacts.email, "b2@example.com"));
    expect(b2).toEqual([]);
  });
});
