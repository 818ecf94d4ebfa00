import { and, eq, isNull, lt } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { idempotencyKeys } from "../db/schema.js";
import { sha256Hex } from "../domain/digest.js";
import { ProblemError } from "../problems.js";
import type { Deps } from "../services/deps.js";
import type { AppEnv } from "./env.js";
import { honoursIdempotencyKey } from "./openapi.js";

/** How long a key's first answer is replayed. */
const KEEP_MS = 24 * 60 * 60 * 1000;

/**
 * A key still marked in progress after this long belongs to a request cut off
 * by a crash (every write answers within seconds): a retry takes it over.
 */
const ABANDONED_MS = 10 * 60 * 1000;

export interface IdempotencyOptions {
  /**
   * For a key whose request never stored its answer — cut off by a crash after
   * it wrote — answers from what it wrote (a send: the message's state), or
   * null when nothing was written.
   */
  recover?: (c: Context<AppEnv>, key: string) => Promise<Response | null>;
}

/**
 * Honours `Idempotency-Key` on a write: the first successful answer is stored
 * and replayed for a retry with the same key and the same request, so a retry
 * never writes twice; the same key with another request is refused. A failed
 * request keeps nothing, so it can be corrected and retried with its key.
 */
export function idempotent(deps: Deps, options: IdempotencyOptions = {}) {
  return honoursIdempotencyKey(idempotencyMiddleware(deps, options));
}

function idempotencyMiddleware(deps: Deps, options: IdempotencyOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined) return next();
    if (key.length === 0 || key.length > 255) {
      throw new ProblemError("invalid-request", {
        detail: "Idempotency-Key must be 1 to 255 characters.",
        errors: [{ pointer: "/headers/idempotency-key", detail: "1 to 255 characters" }],
      });
    }
    const tenantId = c.get("idempotencyScope");
    const url = new URL(c.req.url);
    const fingerprint = await sha256Hex(
      `${c.req.method}\n${url.pathname}${url.search}\n${await c.req.text()}`,
    );
    const now = deps.clock();
    const where = and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key));
    const claimed = await deps.db
      .insert(idempotencyKeys)
      .values({ tenantId, key, fingerprint, createdAt: now })
      // An expired key starts afresh.
      .onConflictDoUpdate({
        target: [idempotencyKeys.tenantId, idempotencyKeys.key],
        set: { fingerprint, createdAt: now, status: null, contentType: null, body: null },
        setWhere: lt(idempotencyKeys.createdAt, now - KEEP_MS),
      })
      .returning({ key: idempotencyKeys.key });
    if (claimed.length === 0) {
      const held = await deps.db.query.idempotencyKeys.findFirst({ where });
      if (!held || held.fingerprint !== fingerprint)
        throw new ProblemError("idempotency-key-reused");
      if (held.status !== null && held.body !== null) {
        return new Response(held.body, {
          status: held.status,
          headers: {
            "content-type": held.contentType ?? "application/json",
            "idempotent-replayed": "true",
          },
        });
      }
      // Never answered: still running, or cut off by a crash. What it wrote answers for it.
      const recovered = await options.recover?.(c, key);
      if (recovered) {
        recovered.headers.set("idempotent-replayed", "true");
        return recovered;
      }
      // Nothing written and long abandoned: this retry takes the key over and runs.
      const taken =
        held.createdAt < now - ABANDONED_MS
          ? await deps.db
              .update(idempotencyKeys)
              .set({ createdAt: now })
              .where(
                and(
                  where,
                  isNull(idempotencyKeys.status),
                  eq(idempotencyKeys.createdAt, held.createdAt),
                ),
              )
              .returning({ key: idempotencyKeys.key })
          : [];
      if (taken.length === 0) throw new ProblemError("idempotency-key-in-use");
    }
    try {
      await next();
    } catch (error) {
      await deps.db.delete(idempotencyKeys).where(where);
      throw error;
    }
    if (c.res.status >= 200 && c.res.status < 300) {
      await deps.db
        .update(idempotencyKeys)
        .set({
          status: c.res.status,
          contentType: c.res.headers.get("content-type"),
          body: c.get("replayBody") ?? (await c.res.clone().text()),
        })
        .where(where);
    } else {
      await deps.db.delete(idempotencyKeys).where(where);
    }
  });
}
