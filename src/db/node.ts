import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { Database } from "./database.js";
import * as schema from "./schema.js";

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
  const db = drizzle(client, {
    schema,
    ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}),
  });
  await migrate(db, { migrationsFolder: options.migrationsFolder });
  return { db, close: () => client.close() };
}
