import { getTableColumns, getTableName, SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

/**
 * Statement sizes a bulk insert is split into: 1,000 rows, then the rest in
 * powers of two. Few distinct SQL texts (every text is a prepared statement
 * the embedded driver keeps), never more than a few statements beyond
 * ⌈rows / 1,000⌉, and at most 1,000 × columns parameters each (SQLite's
 * limit is 32,766).
 */
const SIZES = [1000, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1];

/** An SQL statement whose text and parameters are final: drizzle writes it as it is. */
class BoundStatement extends SQL {
  readonly #query: { sql: string; params: unknown[] };

  constructor(text: string, params: unknown[]) {
    super([]);
    this.#query = { sql: text, params };
  }

  override toQuery() {
    return { ...this.#query, typings: [] };
  }
}

/**
 * `INSERT INTO <table> (<every column>) VALUES (…), (…), …` with every value
 * bound as a parameter, in statements of fixed sizes (see SIZES) — for the
 * hot path's bulk writes (a send's justifications, the outbox).
 *
 * Why not drizzle's `insert().values(rows)`: drizzle builds a statement one
 * parameter at a time, about 90 ms per 1,000 rows of 22 columns — more than
 * SQLite takes to write them. Why not `insertJsonRows` (one JSON parameter):
 * SQLite's JSON functions cost several times what binding the values does.
 * Here each value goes through its column's own mapping to the driver (JSON
 * columns to text, …) and the statement text is made once per size.
 *
 * Each row gives every column (an absent one is written as NULL).
 */
export function insertBoundRows<T extends SQLiteTable>(
  table: T,
  rows: readonly T["$inferInsert"][],
  /**
   * A larger first statement size for a narrow table (at most 32,766 / columns
   * rows): its rows then cost a fraction of a statement per 1,000.
   */
  largest?: number,
): SQL[] {
  const columns = Object.entries(getTableColumns(table));
  const statements: SQL[] = [];
  let start = 0;
  for (const size of largest ? [largest, ...SIZES] : SIZES) {
    while (rows.length - start >= size) {
      const params: unknown[] = [];
      for (let i = start; i < start + size; i++) {
        const row = rows[i] as Record<string, unknown>;
        for (const [key, column] of columns) {
          const value = row[key];
          params.push(
            value === undefined || value === null ? null : column.mapToDriverValue(value),
          );
        }
      }
      statements.push(new BoundStatement(insertText(table, columns, size), params));
      start += size;
    }
  }
  return statements;
}

const texts = new WeakMap<SQLiteTable, Map<number, string>>();

/** The statement text for `size` rows of `table`, made once. */
function insertText(
  table: SQLiteTable,
  columns: [string, { name: string }][],
  size: number,
): string {
  let bySize = texts.get(table);
  if (!bySize) {
    bySize = new Map();
    texts.set(table, bySize);
  }
  let text = bySize.get(size);
  if (text === undefined) {
    const name = getTableName(table);
    const row = `(${columns.map(() => "?").join(", ")})`;
    text = `insert into "${name}" (${columns.map(([, column]) => `"${column.name}"`).join(", ")}) values ${Array.from({ length: size }, () => row).join(", ")}`;
    bySize.set(size, text);
  }
  return text;
}
