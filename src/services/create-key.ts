import { apiKeys, type SettingsFieldChange } from "../db/schema.js";
import { sha256Hex } from "../domain/digest.js";
import { newId, randomSecret } from "../domain/ids.js";
import { ProblemError } from "../problems.js";
import type { Deps } from "./deps.js";
import type { Scope } from "./scopes.js";
import { recordSettingsChange, type SettingsActor } from "./settings/record-settings-change.js";

/** A key as shown once, at creation. */
export interface CreatedKey {
  id: string;
  /** The secret itself: shown now, stored only as a hash, never shown again. */
  key: string | null;
  scopes: Scope[];
  name: string | null;
  createdAt: string;
  /** After this instant the key is refused; null: it does not expire. */
  expiresAt: string | null;
}

const KEY_PREFIX = "grk_";

/** Mints a key; the caller stores `row` in `table` (alone or in a batch). */
export async function issueKey(
  tenantId: string,
  scopes: Scope[],
  name: string | null,
  now: number,
  expiresAt: number | null = null,
) {
  const key = `${KEY_PREFIX}${randomSecret(32)}`;
  const row = {
    id: newId("key", now),
    tenantId,
    keyHash: await sha256Hex(key),
    scopes: [...new Set(scopes)],
    name,
    createdAt: now,
    revokedAt: null,
    expiresAt,
    lastUsedAt: null,
  };
  const created: CreatedKey = {
    id: row.id,
    key,
    scopes: row.scopes,
    name,
    createdAt: new Date(now).toISOString(),
    expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
  };
  return { table: apiKeys, row, created };
}

export async function createKey(
  deps: Deps,
  tenantId: string,
  input: { scopes: Scope[]; name?: string | undefined; expiresAt?: number | undefined },
  actor: SettingsActor,
): Promise<CreatedKey> {
  const now = deps.clock();
  if (input.expiresAt !== undefined && input.expiresAt <= now) {
    throw new ProblemError("invalid-request", {
      detail: "A key cannot expire before it is created.",
      errors: [{ pointer: "/expiresAt", detail: "must lie in the future" }],
    });
  }
  const issued = await issueKey(
    tenantId,
    input.scopes,
    input.name ?? null,
    now,
    input.expiresAt ?? null,
  );
  const record = recordSettingsChange(deps, tenantId, actor, [keyCreated(issued.created)]);
  await deps.db.batch([
    deps.db.insert(issued.table).values(issued.row),
    ...(record ? [record] : []),
  ]);
  return issued.created;
}

/** A key's creation as a settings change: what it may do, never its secret. */
export function keyCreated(created: CreatedKey): SettingsFieldChange {
  return {
    field: `/keys/${created.id}`,
    from: null,
    to: { name: created.name, scopes: created.scopes, expiresAt: created.expiresAt },
  };
}

/**
 * The key as a replay shows it: the secret is shown once and stored only as
 * a hash, so it is never kept for an Idempotency-Key replay.
 */
export function withoutSecret(created: CreatedKey): CreatedKey {
  return { ...created, key: null };
}
