import { type Client, createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import * as schema from "../../src/db/schema.js";

type Database = LibSQLDatabase<typeof schema>;
const open = new Map<string, { client: Client; db: Database }>();

/**
 * The gateway's libSQL file, read directly from the test: the same file in both runtimes (the
 * Worker writes to it through the Hrana server). One connection per file, closed on `stop`.
 */
export function databaseOf(gateway: { readonly dbPath: string }): Database {
  let entry = open.get(gateway.dbPath);
  if (!entry) {
    const client = createClient({ url: `file:${gateway.dbPath}` });
    entry = { client, db: drizzle(client, { schema }) };
    open.set(gateway.dbPath, entry);
  }
  return entry.db;
}

export function closeDatabaseOf(gateway: { readonly dbPath: string }): void {
  open.get(gateway.dbPath)?.client.close();
  open.delete(gateway.dbPath);
}
