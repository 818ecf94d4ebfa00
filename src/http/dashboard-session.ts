import { bytesToHex } from "@noble/hashes/utils.js";
import { and, eq, gt, isNull, or } from "drizzle-orm";
import { apiKeys, tenants } from "../db/schema.js";
import {
  type SignedTokenKey,
  signedTokenKey,
  signToken,
  verifyToken,
} from "../domain/signed-token.js";
import type { Deps } from "../services/deps.js";
import { allows } from "../services/scopes.js";
import type { TenantRow } from "../services/tenant.js";

/** A dashboard session lasts a working day; then the key is asked for again. */
export const SESSION_LIFETIME_MS = 8 * 60 * 60_000;
export const SESSION_COOKIE = "grounds_dashboard";
/** The sign-in form's CSRF cookie (double submit, before there is a session). */
export const SIGN_IN_COOKIE = "grounds_dashboard_signin";

const keys = new WeakMap<Deps, SignedTokenKey<"dashboard">>();

/**
 * The session signing key: an HMAC key derived for "dashboard" from the
 * master secret's key for secrets at rest (itself derived from
 * GROUNDS_SECRET), so the dashboard needs nothing new in `deps` and no key
 * serves two purposes.
 */
function sessionKey(deps: Deps): SignedTokenKey<"dashboard"> {
  let key = keys.get(deps);
  if (!key) {
    key = signedTokenKey(bytesToHex(deps.settingsKey), "dashboard");
    keys.set(deps, key);
  }
  return key;
}

export function randomToken(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
}

export interface Session {
  tenant: TenantRow;
  keyId: string;
  /** The CSRF token every form of the session carries. */
  csrf: string;
}

/** A signed session: the key's id (never the key), its tenant, and a CSRF token. */
export function signSession(deps: Deps, tenantId: string, keyId: string, csrf: string): string {
  return signToken(sessionKey(deps), deps.clock(), [tenantId, keyId, csrf]);
}

/**
 * The session a cookie holds, if it is genuine, fresh, and its key still
 * exists, is not revoked nor expired and still has `compliance:read`:
 * revoking the key ends its sessions at once.
 */
export async function readSession(deps: Deps, cookie: string | undefined): Promise<Session | null> {
  if (!cookie) return null;
  const verified = verifyToken(sessionKey(deps), cookie, {
    fieldCount: 3,
    lifetimeMs: SESSION_LIFETIME_MS,
    now: deps.clock(),
  });
  if (!verified) return null;
  const [tenantId, keyId, csrf] = verified.fields as [string, string, string];
  const [found] = await deps.db
    .select({ tenant: tenants, scopes: apiKeys.scopes })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(
      and(
        eq(apiKeys.id, keyId),
        eq(apiKeys.tenantId, tenantId),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, deps.clock())),
      ),
    )
    .limit(1);
  if (!found || !allows(found.scopes, "compliance:read")) return null;
  return { tenant: found.tenant, keyId, csrf };
}

/** Compares two strings in time independent of where they differ. */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
