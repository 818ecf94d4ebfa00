import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Command, EXIT, parseOptions } from "../command.js";

export const migrate: Command = {
  name: "migrate",
  summary: "Apply the database migrations (local file or remote libSQL)",
  help: `Usage: grounds migrate

Opens the database named by DATABASE_URL (default file:./data/grounds.db;
a remote libSQL/Turso URL with DATABASE_AUTH_TOKEN works too) and applies the
migrations it lacks. This is what \`npm run db:migrate\` runs; on Workers it is
the only way the schema is created. It needs no secrets and generates none.`,

  async run(args, context) {
    parseOptions(args, {});
    const config = context.config();
    // The database alone, not the gateway: a deploy step migrating a remote
    // database has no GROUNDS_SECRET, and must not mint an operator token.
    const { MIGRATIONS_FOLDER } = await import("../../entry/node-gateway.js");
    const { openDatabase } = await import("../../db/node.js");
    const { sql } = await import("drizzle-orm");
    const local = localPath(config.databaseUrl);
    if (local) await mkdir(dirname(resolve(local)), { recursive: true });
    const { db, close } = await openDatabase({
      url: config.databaseUrl,
      authToken: config.databaseAuthToken,
      migrationsFolder: MIGRATIONS_FOLDER,
    });
    context.onClose(close);
    const [row] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM __drizzle_migrations`);
    const count = Number(row?.n ?? 0);
    context.io.out(
      `Database ${displayUrl(config.databaseUrl)} is up to date: ${count} migration${count === 1 ? "" : "s"} applied in all.`,
    );
    return EXIT.ok;
  },
};

/** The path of a `file:` database (as the Node gateway reads it), else null. */
function localPath(url: string): string | null {
  if (!url.startsWith("file:")) return null;
  return url.slice("file:".length).replace(/^\/\/(?=\/)/, "");
}

/** The URL without credentials (user info, `?authToken=…`), fit to print. */
function displayUrl(url: string): string {
  if (url.startsWith("file:")) return url;
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    parsed.search = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(remote)";
  }
}
