import { type Client, createClient, type InStatement } from "@libsql/client";
import * as sqlite3Client from "@libsql/client/sqlite3";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { Database } from "./database.js";
import * as schema from "./schema.js";

/**
 * The native libsql driver frees a prepared statement only when the event
 * loop next turns (tursodatabase/libsql-js#153), and on an embedded file a
 * run of awaited queries never lets it turn: @libsql/client prepared one for
 * every statement, so an import or a large send held thousands of them until
 * it ended. `patches/@libsql+client+*.patch` (applied by `npm install`'s
 * postinstall) makes the client re-use one statement per SQL text and
 * connection; its marker tells that it was applied. Without it, refuse to
 * open a file rather than grow by megabytes per thousand statements.
 */
export function statementCacheCapacity(): number | undefined {
  const capacity: unknown = (sqlite3Client as Record<string, unknown>).STATEMENT_CACHE_CAPACITY;
  return typeof capacity === "number" ? capacity : undefined;
}

/**
 * Opens a libSQL database on Node: a `file:` path (embedded, the default) or a
 * remote libSQL/Turso URL. Migrations from `drizzle/` are applied on open.
 */
export async function openDatabase(options: {
  url: string;
  authToken?: string | undefined;
  migrationsFolder: string;
  /** Called for every statement sent (tests count them: batching is a promise). */
  onQuery?: ((sql: string) => void) | undefined;
}): Promise<{ db: Database; close(): void }> {
  if (options.url.startsWith("file:") && statementCacheCapacity() === undefined) {
    throw new Error(
      "@libsql/client is not patched to re-use prepared statements (tursodatabase/libsql-js#153): " +
        "run `npm install`, whose postinstall applies patches/ with patch-package.",
    );
  }
  const client = createClient({
    url: options.url,
    ...(options.authToken ? { authToken: options.authToken } : {}),
    // Concurrent writers to a file queue for the lock instead of failing.
    timeout: 10_000,
  });
  if (options.url.startsWith("file:")) {
    // WAL (persistent in the file) lets readers run beside the writer; with
    // the default FULL sync an answered write survives a power cut.
    await client.execute("PRAGMA journal_mode = WAL");
  }
  const { onQuery } = options;
  const db = drizzle(onQuery ? countingStatements(client, onQuery) : client, { schema });
  await migrate(db, { migrationsFolder: options.migrationsFolder });
  return { db, close: () => client.close() };
}

/**
 * The client, reporting every statement it is sent — those inside a batch
 * too, which drizzle's query logger does not see — so that a test can hold
 * the hot paths to their statement counts.
 */
function countingStatements(client: Client, onQuery: (sql: string) => void): Client {
  const sqlOf = (statement: InStatement) =>
    typeof statement === "string" ? statement : statement.sql;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "execute") {
        return (statement: InStatement, ...rest: unknown[]) => {
          onQuery(sqlOf(statement));
          return (target.execute as (...args: unknown[]) => unknown)(statement, ...rest);
        };
      }
      if (property === "batch") {
        return (statements: InStatement[], ...rest: unknown[]) => {
          for (const statement of statements) onQuery(sqlOf(statement));
          return (target.batch as (...args: unknown[]) => unknown)(statements, ...rest);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
