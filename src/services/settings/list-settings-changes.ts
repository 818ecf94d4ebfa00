import { and, desc, eq, lt, or } from "drizzle-orm";
import { type SettingsFieldChange, settingsChanges } from "../../db/schema.js";
import type { Deps } from "../deps.js";

export interface SettingsChangeView {
  id: string;
  at: string;
  /** `key:<key id>` or `operator`. */
  actor: string;
  changes: SettingsFieldChange[];
}

/**
 * A tenant's settings changes, newest first: `limit + 1` rows after `after`
 * (`[at, id]`), for `GET /v1/settings/changes` and the workbench.
 */
export async function listSettingsChanges(
  deps: Deps,
  tenantId: string,
  page: { limit: number; after?: readonly [number, string] | undefined },
): Promise<SettingsChangeView[]> {
  const after = page.after;
  const rows = await deps.db
    .select()
    .from(settingsChanges)
    .where(
      and(
        eq(settingsChanges.tenantId, tenantId),
        after
          ? or(
              lt(settingsChanges.at, after[0]),
              and(eq(settingsChanges.at, after[0]), lt(settingsChanges.id, after[1])),
            )
          : undefined,
      ),
    )
    .orderBy(desc(settingsChanges.at), desc(settingsChanges.id))
    .limit(page.limit + 1);
  return rows.map((row) => ({
    id: row.id,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    changes: row.changes,
  }));
}
