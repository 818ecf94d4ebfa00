import { and, desc, eq, lt, or } from "drizzle-orm";
import { apiKeys } from "../db/schema.js";
import type { Deps } from "./deps.js";

type KeyRow = typeof apiKeys.$inferSelect;

/** An API key as `GET /v1/keys` shows it: never the secret, nor its hash (docs/design.md §5). */
export interface KeyView {
  id: string;
  name: string | null;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  /** To the minute (services/authenticate.ts). */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

export function keyView(row: KeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdAt: iso(row.createdAt) ?? "",
    expiresAt: iso(row.expiresAt),
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
  };
}

/**
 * A tenant's keys, newest first, revoked ones included (an operator tracing a
 * leak needs to see them); `limit + 1` rows after `after` (`[createdAt, id]`).
 */
export async function listKeys(
  deps: Deps,
  tenantId: string,
  page: { limit: number; after?: readonly [number, string] | undefined },
): Promise<KeyView[]> {
  const after = page.after;
  const rows = await deps.db
    .select()
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.tenantId, tenantId),
        after
          ? or(
              lt(apiKeys.createdAt, after[0]),
              and(eq(apiKeys.createdAt, after[0]), lt(apiKeys.id, after[1])),
            )
          : undefined,
      ),
    )
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit + 1);
  return rows.map(keyView);
}
