/**
 * What a database error means for the caller, read from the SQLite result
 * code the libSQL drivers put on their errors (`code`, on the error or on
 * one of its causes: drizzle wraps the driver's error).
 */

/**
 * Storage that cannot take a write now but may soon: the file is locked by
 * another process (BUSY, LOCKED), read-only (READONLY: permissions, a
 * read-only mount), full (FULL: the disk, or `max_page_count`), or failing
 * (IOERR, CANTOPEN). None is the request's fault, and each clears without
 * us: the answer is 503 with Retry-After, not a 500 that reads as a bug.
 */
export type StorageFault = "busy" | "read-only" | "full" | "io";

const FAULTS: readonly [string, StorageFault][] = [
  ["SQLITE_BUSY", "busy"],
  ["SQLITE_LOCKED", "busy"],
  ["SQLITE_READONLY", "read-only"],
  ["SQLITE_FULL", "full"],
  ["SQLITE_IOERR", "io"],
  ["SQLITE_CANTOPEN", "io"],
];

/** The SQLite result code of an error or of its causes, e.g. `SQLITE_FULL`. */
export function sqliteCodeOf(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

export function storageFaultOf(error: unknown): StorageFault | null {
  const code = sqliteCodeOf(error);
  if (!code) return null;
  for (const [prefix, fault] of FAULTS) if (code.startsWith(prefix)) return fault;
  return null;
}

/**
 * An error as it may be logged: its kind and SQLite code, never its message
 * — drizzle's quotes the statement's parameters, which are addresses.
 */
export function loggableError(error: unknown): string {
  const name = error instanceof Error ? error.name : "error";
  const code = sqliteCodeOf(error);
  return code ? `${name} (${code})` : name;
}
