import { eq } from "drizzle-orm";
import type { Database } from "../db/database.js";
import { instance } from "../db/schema.js";
import { sha256Hex } from "../domain/digest.js";
import { randomSecret } from "../domain/ids.js";

const KEY = "operator_token_sha256";

/**
 * The operator credential's hash. A token from the environment wins; else
 * the one generated at first start (its hash kept in the database); else a
 * new one is generated now and returned once, to be printed (docs/design.md §5).
 */
export async function operatorCredential(
  db: Database,
  fromEnvironment: string | undefined,
): Promise<{ hash: string; generated: string | null }> {
  if (fromEnvironment) return { hash: await sha256Hex(fromEnvironment), generated: null };
  const stored = await db.query.instance.findFirst({ where: eq(instance.key, KEY) });
  if (stored) return { hash: stored.value, generated: null };
  const token = `gro_${randomSecret(32)}`;
  const hash = await sha256Hex(token);
  const inserted = await db
    .insert(instance)
    .values({ key: KEY, value: hash })
    .onConflictDoNothing()
    .returning();
  if (inserted.length === 0) {
    // Another process started at the same moment and won; use its token.
    const winner = await db.query.instance.findFirst({ where: eq(instance.key, KEY) });
    return { hash: winner?.value ?? hash, generated: null };
  }
  return { hash, generated: token };
}
