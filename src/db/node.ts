import { open } from "node:fs/promises";
import { type Client, createClient, type InStatement, type TransactionMode } from "@libsql/client";
import * as sqlite3Client from "@libsql/client/sqlite3";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { Database } from "./database.js";
import { storageFaultOf } from "./errors.js";
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
  const isFile = options.url.startsWith("file:");
  const connect = () =>
    createClient({
      url: options.url,
      ...(options.authToken ? { authToken: options.authToken } : {}),
      // Concurrent writers to a file (another process) queue for the lock,
      // up to 10 s, instead of failing at once.
      timeout: 10_000,
    });
  if (isFile) await createPrivately(options.url);
  const client = isFile ? recovering(connect) : connect();
  if (isFile) {
    // WAL (persistent in the file) lets readers run beside the writer; with
    // the default FULL sync an answered write survives a power cut.
    await client.execute("PRAGMA journal_mode = WAL");
  }
  const { onQuery } = options;
  const db = drizzle(onQuery ? countingStatements(client, onQuery) : client, { schema });
  await migrate(db, { migrationsFolder: options.migrationsFolder });
  return { db, close: () => client.close() };
}

/** The path of a `file:` URL (`file:rel`, `file:/abs`, `file:///abs`), without query. */
function pathOf(url: string): string {
  return url
    .slice("file:".length)
    .replace(/^\/\/(?=\/)/, "")
    .replace(/\?.*$/, "");
}

/**
 * Creates the database file readable by its owner only (0600) before SQLite
 * does (it would follow the umask, usually 0644): it holds addresses and
 * evidence of every subject. An existing file keeps its mode — the operator
 * may have chosen it.
 */
async function createPrivately(url: string): Promise<void> {
  const path = pathOf(url);
  if (path === "" || path === ":memory:") return;
  try {
    const handle = await open(path, "wx", 0o600);
    await handle.close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

/** Retries of a statement or batch that met another process's lock (SQLITE_BUSY). */
const BUSY_RETRIES = 8;
/** A client reopened at most this often while its storage stays read-only. */
const REOPEN_INTERVAL_MS = 1_000;

/**
 * The embedded client, made to ride out storage faults without a restart:
 *
 * - SQLITE_BUSY: the busy timeout waits for the lock, but a write that
 *   began as a read in WAL mode fails at once when another process wrote
 *   meanwhile (its snapshot is stale; SQLite cannot wait that out). A
 *   statement or batch that failed so wrote nothing (a batch is one
 *   transaction), so it is run again, after a short random pause.
 * - SQLITE_READONLY / SQLITE_CANTOPEN: SQLite opens a file it may not write
 *   read-only, and a connection stays so after permissions return. On such
 *   an error the connections are replaced (at most once a second), so the
 *   gateway writes again as soon as the storage lets it.
 *
 * Interactive transactions are not retried here: their statements depend on
 * what they read; they fail whole and the request answers 503.
 */
function recovering(open: () => Client): Client {
  let current = open();
  let reopenedAt = 0;
  const retired: Client[] = [];
  const afterFault = (error: unknown) => {
    const fault = storageFaultOf(error);
    if ((fault === "read-only" || fault === "io") && Date.now() - reopenedAt > REOPEN_INTERVAL_MS) {
      reopenedAt = Date.now();
      // The old client may still serve a transaction in flight: closed at close().
      retired.push(current);
      current = open();
    }
  };
  const withRetries =
    <Args extends unknown[], Result>(call: (client: Client, ...args: Args) => Promise<Result>) =>
    async (...args: Args): Promise<Result> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await call(current, ...args);
        } catch (error) {
          if (storageFaultOf(error) === "busy" && attempt < BUSY_RETRIES) {
            await new Promise((resolve) =>
              setTimeout(resolve, 5 + Math.random() * 20 * 2 ** attempt),
            );
            continue;
          }
          afterFault(error);
          throw error;
        }
      }
    };
  const execute = withRetries((client, statement: InStatement) => client.execute(statement));
  const batch = withRetries((client, statements: InStatement[], mode?: TransactionMode) =>
    client.batch(statements, mode),
  );
  const transaction = async (mode?: TransactionMode) => {
    try {
      return await current.transaction(mode);
    } catch (error) {
      afterFault(error);
      throw error;
    }
  };
  return new Proxy(current, {
    get(_target, property) {
      if (property === "execute") return execute;
      if (property === "batch") return batch;
      if (property === "transaction") return transaction;
      if (property === "close") {
        return () => {
          for (const client of retired.splice(0)) client.close();
          current.close();
        };
      }
      const value = Reflect.get(current, property, current);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });
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
