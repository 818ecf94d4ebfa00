import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { oneClick, signedToken } from "../recipients/helpers.js";
import {
  anotherGatewayOn,
  createTenantWithTopics,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";

/**
 * Issue 16 item 7: storage faults were hidden. With a read-only database
 * /healthz said ok while every write (one-click too) answered 500, and the
 * process stayed broken after permissions returned; a full disk answered an
 * import with 400 "upload interrupted". Now /healthz says whether the
 * database takes a write, writes answer 503 with Retry-After, and the
 * gateway writes again, without a restart, once the storage lets it.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
});

afterAll(async () => {
  await gw?.stop();
});

/**
 * Makes the database file read-only for this process: `chmod` does not stop
 * root (these tests may run as root), the immutable attribute does. Only
 * the main file: SQLite maps its -shm file, which must stay writable.
 */
function setReadOnly(path: string, readOnly: boolean) {
  if (process.getuid?.() === 0) execFileSync("chattr", [readOnly ? "+i" : "-i", path]);
  else execFileSync("chmod", [readOnly ? "0444" : "0600", path]);
}

const objection = (email: string) => ({
  method: "POST",
  key,
  json: { email, topics: ["*"], channel: "api", receivedAt: new Date(gw.clock()).toISOString() },
});

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("a read-only database file", () => {
  it("is reported by /healthz, refused with 503 + Retry-After, and recovered from without a restart", async () => {
    // A gateway (re)started while the file cannot be written: SQLite opens it read-only.
    setReadOnly(gw.dbPath, true);
    const logged = vi.spyOn(console, "error");
    let second: Awaited<ReturnType<typeof anotherGatewayOn>> | undefined;
    try {
      second = await anotherGatewayOn(gw);
      const app = second.app;
      const call = (path: string, init: RequestInit = {}) =>
        Promise.resolve(app.fetch(new Request(`http://grounds.test${path}`, init)));

      const health = await call("/healthz");
      expect(health.status).toBe(503);
      expect(health.headers.get("retry-after")).toBe("5");
      expect(await health.json()).toEqual({
        status: "unavailable",
        database: { writable: false, fault: "read-only" },
      });

      const write = await call("/v1/objections", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(objection("ro@example.cz").json),
      });
      expect(write.status).toBe(503);
      expect(write.headers.get("content-type")).toBe("application/problem+json");
      expect(write.headers.get("retry-after")).toBe("5");
      expect(((await write.json()) as { type: string }).type).toBe("/problems/storage-unavailable");

      const token = signedToken(gw, tenantId, "ro-click@example.cz");
      const click = await oneClick({ ...gw, request: (path, init) => call(path, init) }, token);
      expect(click.status).toBe(503);
      expect(click.headers.get("retry-after")).toBe("5");

      // Permissions return: the same process writes again, by itself.
      setReadOnly(gw.dbPath, false);
      await until(async () => (await call("/healthz")).status === 200);
      const retried = await oneClick({ ...gw, request: (path, init) => call(path, init) }, token);
      expect(retried.status).toBe(200);
      // What failed is logged — its kind and SQLite code, never an address.
      const log = logged.mock.calls.flat().map(String).join("\n");
      expect(log).toContain("SQLITE_READONLY");
      expect(log).not.toContain("example.cz");
    } finally {
      logged.mockRestore();
      setReadOnly(gw.dbPath, false);
      second?.close();
    }
  });
});

describe("a full disk", () => {
  /** The file may not grow past its current size (as a full disk stops it). */
  async function fill(full: boolean) {
    const [row] = (await gw.deps.db.all(sql`PRAGMA page_count`)) as { page_count: number }[];
    // Set on every connection the next requests may use: each runs it once.
    for (let i = 0; i < 4; i++) {
      await gw.deps.db.run(
        sql.raw(`PRAGMA max_page_count = ${full ? (row?.page_count ?? 0) : 1_000_000_000}`),
      );
    }
  }

  it("answers an import with 503 + Retry-After, not 400 'upload interrupted', and recovers", async () => {
    const rows = Array.from(
      { length: 3000 },
      (_, i) => `full.${i}@example.cz,2025-01-01T00:00:00Z`,
    );
    const file = `email,collected_at\n${rows.join("\n")}\n`;
    await fill(true);
    let res: Response;
    try {
      res = await gw.request("/v1/imports?format=csv&topics=tips", {
        method: "POST",
        key,
        headers: { "content-type": "text/csv" },
        body: file,
      });
    } finally {
      await fill(false);
    }
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { type: string }).type).toBe("/problems/storage-unavailable");
    // Space again: the same request goes through.
    const again = await gw.request("/v1/imports?format=csv&topics=tips", {
      method: "POST",
      key,
      headers: { "content-type": "text/csv" },
      body: file,
    });
    expect(again.status).toBe(202);
  });
});

describe("the database file", () => {
  it("is created readable by its owner only (0600)", () => {
    expect((statSync(gw.dbPath).mode & 0o777).toString(8)).toBe("600");
  });
});
