import type { ExecutionContext } from "@cloudflare/workers-types";
import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { chooseProvider } from "../adapters/choose-provider.js";
import { createOutboxProvider } from "../adapters/outbox.js";
import { createFetchSendGridProvider } from "../adapters/sendgrid-fetch.js";
import { readConfig } from "../config.js";
import * as schema from "../db/schema.js";
import { confirmTokenKey } from "../domain/confirm-token.js";
import { deriveKey, keyedHasher, sha256Hex } from "../domain/digest.js";
import { unsubscribeTokenKey } from "../domain/unsubscribe-token.js";
import { createApp } from "../http/app.js";
import { problemResponse } from "../http/problem.js";
import type { Deps } from "../services/deps.js";
import { fixedWindowLimiter } from "../services/rate-limiter.js";

/** The Worker's bindings (wrangler.toml vars and secrets). */
export interface WorkerEnv {
  DATABASE_URL: string;
  DATABASE_AUTH_TOKEN?: string;
  PUBLIC_URL?: string;
  GROUNDS_OPERATOR_TOKEN: string;
  GROUNDS_SECRET: string;
  SENDGRID_API_KEY?: string;
  SENDGRID_API_URL?: string;
}

type Gateway = { app: ReturnType<typeof createApp> };

let ready: Promise<Gateway> | undefined;

/**
 * Grounds on Cloudflare Workers: libSQL over HTTP (Turso). Configuration is
 * read once per isolate. Migrations are applied with `npm run db:migrate`,
 * not on a request's path. On Workers the secrets must be set: nothing can
 * be generated and kept beside a database file.
 */
async function gateway(env: WorkerEnv): Promise<Gateway> {
  const config = readConfig(env as unknown as Record<string, string | undefined>);
  if (!env.DATABASE_URL) {
    // Else readConfig's default, a local file, which a Worker cannot open.
    throw new Error("DATABASE_URL must be set: a libsql:// or https:// URL (Turso).");
  }
  if (!config.secret || !config.operatorToken) {
    throw new Error("GROUNDS_SECRET and GROUNDS_OPERATOR_TOKEN must be set as Worker secrets.");
  }
  const client = createClient({
    url: config.databaseUrl,
    ...(config.databaseAuthToken ? { authToken: config.databaseAuthToken } : {}),
  });
  const db = drizzle(client, { schema });
  const deps: Deps = {
    db,
    clock: Date.now,
    subjectKeyHasher: keyedHasher(config.secret, "subject"),
    operatorTokenHash: await sha256Hex(config.operatorToken),
    tokenKey: unsubscribeTokenKey(config.secret),
    confirmTokenKey: confirmTokenKey(config.secret),
    settingsKey: deriveKey(config.secret, "settings"),
    publicUrl: config.publicUrl,
    // Plain fetch, not @sendgrid/mail: axios and Node's http do not belong in the bundle.
    provider: chooseProvider({
      outbox: createOutboxProvider(db, Date.now),
      sendgrid: createFetchSendGridProvider({
        apiKey: config.sendgridApiKey,
        apiUrl: config.sendgridApiUrl,
      }),
      hasInstallationKey: Boolean(config.sendgridApiKey),
    }),
    // Per isolate: a brake on abuse of the public pages, not an exact count.
    rateLimiter: fixedWindowLimiter(Date.now),
    // Set by Cloudflare's edge for every request; a client cannot forge it.
    clientIp: (c) => c.req.header("cf-connecting-ip") ?? null,
  };
  return { app: createApp(deps) };
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    ready ??= gateway(env).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    let app: Gateway["app"];
    try {
      ({ app } = await ready);
    } catch (error) {
      // Misconfigured (a secret missing, a bad URL): say why in the log, and answer as every
      // other failure does (problem+json, nothing internal) instead of throwing, which
      // Cloudflare would turn into an HTML error page. The next request tries again.
      console.error("[grounds] the Worker cannot start:", error);
      return problemResponse("internal");
    }
    return app.fetch(request, env, ctx);
  },
};
