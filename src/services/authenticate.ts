import { and, eq, isNull, lte, or } from "drizzle-orm";
import { apiKeys, tenants } from "../db/schema.js";
import { sha256Hex } from "../domain/digest.js";
import { ProblemError } from "../problems.js";
import type { Deps } from "./deps.js";
import { allows, type Scope } from "./scopes.js";
import type { TenantRow } from "./tenant.js";

export interface Principal {
  tenant: TenantRow;
  keyId: string;
  scopes: string[];
  /** When the key was last recorded as used (see `keyUseIsStale`). */
  lastUsedAt: number | null;
}

/**
 * How often a key's `lastUsedAt` is written: at most once a minute per key,
 * so a busy key costs no write per request and authenticating stays a read.
 */
export const KEY_USE_RESOLUTION_MS = 60_000;

/**
 * Finds the tenant and scopes of an API key. An unknown key, a revoked one
 * and an expired one are refused alike, so a caller learns nothing about
 * which keys exist. A revocation takes effect on the very next request:
 * nothing about keys is cached.
 */
export async function authenticateKey(deps: Deps, key: string, needed: Scope): Promise<Principal> {
  const keyHash = await sha256Hex(groundsKeyOf(key));
  const [found] = await deps.db
    .select({
      tenant: tenants,
      keyId: apiKeys.id,
      scopes: apiKeys.scopes,
      lastUsedAt: apiKeys.lastUsedAt,
      expiresAt: apiKeys.expiresAt,
    })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!found || (found.expiresAt !== null && found.expiresAt <= deps.clock())) {
    throw new ProblemError("unauthenticated");
  }
  if (!allows(found.scopes, needed)) {
    throw new ProblemError("forbidden", { detail: `This key lacks the "${needed}" scope.` });
  }
  const { expiresAt: _expiresAt, ...principal } = found;
  return principal;
}

/**
 * SendGrid's official client warns `API key does not start with "SG."` on
 * every call with any other key. A Grounds key may therefore be given as
 * `SG.` + the key (`SG.grk_…`): the same key, and no warning. A real
 * SendGrid key (`SG.<id>.<secret>`) never begins `SG.grk_`, so the two are
 * never confused; sent here, it is simply an unknown key.
 */
export function groundsKeyOf(key: string): string {
  return key.startsWith("SG.grk_") ? key.slice("SG.".length) : key;
}

/** Whether this request should record the key's use (its last record is a minute old). */
export function keyUseIsStale(principal: Principal, now: number): boolean {
  return principal.lastUsedAt === null || now - principal.lastUsedAt >= KEY_USE_RESOLUTION_MS;
}

/**
 * Records that a key was used now. Conditional, so concurrent requests of one
 * key write it once a minute at most, whichever comes first.
 */
export async function recordKeyUse(deps: Deps, keyId: string, now: number): Promise<void> {
  await deps.db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiKeys.id, keyId),
        or(isNull(apiKeys.lastUsedAt), lte(apiKeys.lastUsedAt, now - KEY_USE_RESOLUTION_MS)),
      ),
    );
}

/** The operator credential, compared by hash in constant time. */
export async function authenticateOperator(deps: Deps, token: string): Promise<void> {
  const hash = await sha256Hex(token);
  let difference = hash.length ^ deps.operatorTokenHash.length;
  for (let i = 0; i < hash.length; i++) {
    difference |= hash.charCodeAt(i) ^ (deps.operatorTokenHash.charCodeAt(i) || 0);
  }
  if (difference !== 0)
    throw new ProblemError("unauthenticated", { detail: "The operator token is required." });
}
