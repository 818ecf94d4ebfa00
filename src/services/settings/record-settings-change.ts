import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type SettingsFieldChange, settingsChanges } from "../../db/schema.js";
import { newId } from "../../domain/ids.js";
import type { Deps } from "../deps.js";

/** Who changed a setting: an API key (by id), or the operator. */
export type SettingsActor = { keyId: string } | "operator";

export function actorName(actor: SettingsActor): string {
  return actor === "operator" ? "operator" : `key:${actor.keyId}`;
}

/**
 * THE way a settings change is recorded (docs/design.md §5: "every change is itself
 * an entry in the tenant's log — who, when, what; secrets as changed"). It
 * answers the statement, for the caller to put in the same batch as the
 * change: the change and its record are written together or not at all.
 * Null when nothing changed. Secrets must arrive here already reduced to
 * `changed`/`removed` (see `secretChange`).
 */
export function recordSettingsChange(
  deps: Deps,
  tenantId: string,
  actor: SettingsActor,
  changes: readonly SettingsFieldChange[],
  /**
   * Recorded only where this holds when the batch runs (e.g. a conditional
   * update before it in the batch did change something).
   */
  onlyIf?: SQL,
): BatchItem<"sqlite"> | null {
  if (changes.length === 0) return null;
  const at = deps.clock();
  const row = {
    id: newId("set", at),
    tenantId,
    at,
    actor: actorName(actor),
    changes: JSON.stringify(changes),
  };
  if (onlyIf) {
    return deps.db.run(sql`INSERT INTO ${settingsChanges}
      (id, tenant_id, at, actor, changes)
      SELECT ${row.id}, ${row.tenantId}, ${row.at}, ${row.actor}, ${row.changes} WHERE ${onlyIf}`);
  }
  return deps.db.insert(settingsChanges).values({ ...row, changes: [...changes] });
}

/** A secret's change, without its value: `changed` when set, `removed` when cleared. */
export function secretChange(field: string, value: string | null): SettingsFieldChange {
  return { field, to: value === null ? "removed" : "changed" };
}

/** A field's change when its value differs (compared as JSON), else none. */
export function fieldChange(field: string, from: unknown, to: unknown): SettingsFieldChange[] {
  return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ field, from, to }];
}
