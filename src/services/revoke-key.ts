import { and, eq, isNull, sql } from "drizzle-orm";
import { apiKeys } from "../db/schema.js";
import { ProblemError } from "../problems.js";
import type { Deps } from "./deps.js";
import { type KeyView, keyView } from "./list-keys.js";
import { recordSettingsChange, type SettingsActor } from "./settings/record-settings-change.js";

/**
 * Revokes a key at once (docs/design.md §5 `DELETE /v1/keys/{id}`): its next request
 * is refused (401), since every request reads the key. Revoking a key
 * already revoked answers it as it is.
 *
 * The tenant's last active admin key cannot be revoked (409): without one,
 * nobody but the operator could manage the tenant again. The check and the
 * revocation are ONE statement, so two revocations racing for the last two
 * admin keys cannot both pass: SQLite runs writes one at a time, and the
 * second sees the first.
 */
export async function revokeKey(
  deps: Deps,
  tenantId: string,
  keyId: string,
  actor: SettingsActor,
): Promise<KeyView> {
  const now = deps.clock();
  const revoke = deps.db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(
      and(
        eq(apiKeys.id, keyId),
        eq(apiKeys.tenantId, tenantId),
        isNull(apiKeys.revokedAt),
        sql`(NOT EXISTS (SELECT 1 FROM json_each(${apiKeys.scopes}) WHERE value = 'admin')
          OR EXISTS (SELECT 1 FROM api_keys AS other
            WHERE other.tenant_id = ${tenantId} AND other.id <> ${keyId}
              AND other.revoked_at IS NULL
              AND (other.expires_at IS NULL OR other.expires_at > ${now})
              AND EXISTS (SELECT 1 FROM json_each(other.scopes) WHERE value = 'admin')))`,
      ),
    )
    .returning();
  // Recorded only if the UPDATE just before it in the batch revoked the key:
  // SQLite's changes() counts the rows of the statement completed last.
  const record = recordSettingsChange(
    deps,
    tenantId,
    actor,
    [{ field: `/keys/${keyId}/revokedAt`, from: null, to: new Date(now).toISOString() }],
    sql`changes() = 1`,
  );
  const [[revoked]] = record ? await deps.db.batch([revoke, record]) : [await revoke];
  if (revoked) return keyView(revoked);
  const [row] = await deps.db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.tenantId, tenantId)));
  // Another tenant's key is as unknown as one that never existed.
  if (!row) throw new ProblemError("key-not-found");
  if (row.revokedAt !== null) return keyView(row);
  throw new ProblemError("last-admin-key", {
    detail: "Create another admin key first: this is the tenant's last active one.",
  });
}
