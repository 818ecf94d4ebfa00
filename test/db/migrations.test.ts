import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, describe, expect, it } from "vitest";
import { readOutbox } from "../../src/adapters/outbox.js";
import { openDatabase } from "../../src/db/node.js";
import { MIGRATIONS_FOLDER } from "../../src/entry/node-gateway.js";

/**
 * Migrations run on databases that already hold data: a database made by the
 * first migration, with rows in it, is brought up to date by the rest, and
 * keeps its rows.
 */

const dir = mkdtempSync(join(tmpdir(), "grounds-migrations-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The migrations folder as it was when only the first `count` had shipped. */
function firstMigrations(count: number): string {
  const folder = join(dir, `migrations-${count}`);
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: unknown[] };
  journal.entries = journal.entries.slice(0, count);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

describe("migrations", () => {
  it("keep the local outbox's rendered messages when its storage changes", async () => {
    const url = `file:${join(dir, "outbox.db")}`;
    const first = await openDatabase({ url, migrationsFolder: firstMigrations(1) });
    first.close();
    const client = createClient({ url });
    await client.execute({
      sql: `INSERT INTO outbox (id, tenant_id, justification_id, "to", "from", subject, headers, text, html, created_at)
            VALUES ('out_1', 'ten_1', 'jus_1', 'jana@example.cz', 'news@optika.example', 'Hello', '{"List-Unsubscribe-Post":"List-Unsubscribe=One-Click"}', 'Hello, Jana.', '<p>Hello, Jana.</p>', 1)`,
      args: [],
    });
    client.close();

    const current = await openDatabase({ url, migrationsFolder: MIGRATIONS_FOLDER });
    try {
      expect(await readOutbox(current.db, undefined)).toEqual([
        {
          id: "out_1",
          tenantId: "ten_1",
          justificationId: "jus_1",
          to: "jana@example.cz",
          from: "news@optika.example",
          subject: "Hello",
          headers: { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
          text: "Hello, Jana.",
          html: "<p>Hello, Jana.</p>",
          createdAt: 1,
          // A row from before the mail's other fields were kept: none.
          fields: {},
        },
      ]);
    } finally {
      current.close();
    }
  });
});
