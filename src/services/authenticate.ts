import { and, eq, isNull } from "drizzle-orm";
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
}

/**
 * Finds the tenant and scopes of an API key. An unknown key and a revoked
 * one are refused alike, so a caller learns nothing about which keys exist.
 */
export async function authenticateKey(deps: Deps, key: string, needed: Scope): Promise<Principal> {
  const keyHash = await sha256Hex(key);
  const [found] = await deps.db
    .select({ tenant: tenants, keyId: apiKeys.id, scopes: apiKeys.scopes })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!found) throw new ProblemError("unauthenticated");
  if (!allows(found.scopes, needed)) {
    throw new ProblemError("forbidden", { detail: `This key lacks the "${needed}" scope.` });
  }
  return found;
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
