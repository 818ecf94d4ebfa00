import { createMiddleware } from "hono/factory";
import { ProblemError } from "../problems.js";
import {
  authenticateKey,
  authenticateOperator,
  keyUseIsStale,
  recordKeyUse,
} from "../services/authenticate.js";
import type { Deps } from "../services/deps.js";
import type { Scope } from "../services/scopes.js";
import { inBackground } from "./background.js";
import type { AppEnv } from "./env.js";

function bearer(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match?.[1])
    throw new ProblemError("unauthenticated", { detail: "Send Authorization: Bearer <key>." });
  return match[1];
}

/** Requires an API key with `scope`; the key's tenant is the only one reachable. */
export function requireScope(deps: Deps, scope: Scope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const principal = await authenticateKey(deps, bearer(c.req.header("authorization")), scope);
    const now = deps.clock();
    // Off the request's path: the answer never waits for this write.
    if (keyUseIsStale(principal, now)) {
      inBackground(c, deps, recordKeyUse(deps, principal.keyId, now), "key use");
    }
    c.set("principal", principal);
    c.set("idempotencyScope", principal.tenant.id);
    await next();
  });
}

/** Requires the operator credential (GROUNDS_OPERATOR_TOKEN). */
export function requireOperator(deps: Deps) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await authenticateOperator(deps, bearer(c.req.header("authorization")));
    c.set("idempotencyScope", "operator");
    await next();
  });
}
