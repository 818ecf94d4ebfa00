import type { LibSQLDatabase } from "drizzle-orm/libsql";
import type * as schema from "./schema.js";

/** The gateway's database, whichever libSQL driver (file, HTTP) is behind it. */
export type Database = LibSQLDatabase<typeof schema>;
