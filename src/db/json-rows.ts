import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

/**
 * `INSERT INTO <table> (<every column>) SELECT … FROM json_each(?)`: many
 * rows in one statement of constant size, with one bound parameter (the rows
 * as a JSON array), for bulk writes that need a condition or an upsert
 * clause per row (imports, webhooks). Not a multi-row VALUES list built by
 * drizzle: a statement with thousands of parameters costs drizzle more to
 * build than the rows cost to write (plain inserts on the hot path bind
 * their values directly: `insertBoundRows`, bound-rows.ts), and every distinct SQL
 * text is a prepared statement that the embedded driver keeps (it never frees
 * one, tursodatabase/libsql-js#153; patches/ re-uses one per text, in a
 * bounded cache), so the text must not vary with the rows. Append
 * `ON CONFLICT …` / `RETURNING …` as needed (the `WHERE` clause, `true` by
 * default, lets SQLite read an upsert clause after a SELECT).
 *
 * Each row gives every column, as the driver stores it: text, integers,
 * booleans, and JSON-mode columns as their JSON value (stored as its text).
 */
export function insertJsonRows<T extends SQLiteTable>(
  table: T,
  rows: readonly T["$inferInsert"][],
  /** A condition on each row (`value` is the row's JSON; other keys of it may be read). */
  where: SQL = sql`true`,
): SQL {
  const columns = Object.entries(getTableColumns(table));
  const names = sql.join(
    columns.map(([, column]) => sql.identifier(column.name)),
    sql`, `,
  );
  const values = sql.join(
    columns.map(([key]) => sql.raw(`json_extract(value, '$.${key}')`)),
    sql`, `,
  );
  return sql`insert into ${table} (${names}) select ${values} from json_each(${JSON.stringify(rows)}) where ${where}`;
}
