import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getConnInfo } from "@hono/node-server/conninfo";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import proxyaddr from "proxy-addr";
import { chooseProvider } from "../adapters/choose-provider.js";
import { createOutboxProvider } from "../adapters/outbox.js";
import { createSendGridProvider } from "../adapters/sendgrid.js";
import type { Config } from "../config.js";
import { openDatabase } from "../db/node.js";
import { confirmTokenKey } from "../domain/confirm-token.js";
import { deriveKey } from "../domain/digest.js";
import { randomSecret } from "../domain/ids.js";
import { useSha256 } from "../domain/proof/chain.js";
import { unsubscribeTokenKey } from "../domain/unsubscribe-token.js";
import { createApp } from "../http/app.js";
import { problemResponse, renderError } from "../http/problem.js";
import { backgroundTasks } from "../services/background.js";
import type { Deps } from "../services/deps.js";
import { deliveryWorker } from "../services/messages/delivery-worker.js";
import { operatorCredential } from "../services/operator-credential.js";
import { runWebhookDeliveries } from "../services/outbound-webhooks/run-deliveries.js";
import { fixedWindowLimiter } from "../services/rate-limiter.js";
import { nodeKeyedHasher, nodeSha256Hex } from "./node-hashes.js";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** The directory of a `file:` database, where the generated secret is kept. */
function fileDatabaseDir(url: string): string | null {
  if (!url.startsWith("file:")) return null;
  const path = url.slice("file:".length).replace(/^\/\/(?=\/)/, "");
  return dirname(resolve(path));
}

/**
 * GROUNDS_SECRET from the environment, or the one generated at first start
 * and kept beside the database file (docs/design.md §5).
 */
async function masterSecret(config: Config): Promise<string> {
  if (config.secret) return config.secret;
  const dir = fileDatabaseDir(config.databaseUrl);
  if (!dir) {
    throw new Error("GROUNDS_SECRET must be set when the database is not a local file.");
  }
  const path = join(dir, "grounds.secret");
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const secret = randomSecret(48);
  try {
    await writeFile(path, `${secret}\n`, { flag: "wx", mode: 0o600 });
  } catch (error) {
    // Lost a race with another process: theirs is the secret.
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      return (await readFile(path, "utf8")).trim();
    throw error;
  }
  await chmod(path, 0o600);
  return secret;
}

type RequestContext = Parameters<typeof getConnInfo>[0];

/**
 * The client's address on Node: the socket's peer. A request handed to the app
 * without a Node socket (tests calling `app.fetch`) has none.
 */
function socketAddress(c: RequestContext): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

/**
 * The client's address behind the configured reverse proxies: when the
 * socket's peer is a trusted proxy, the nearest address in `X-Forwarded-For`
 * that is not one (proxy-addr, as Express does it); otherwise the peer. With
 * no trusted proxy the header is never read: a client cannot pick the
 * address its rate limit and its recorded (anonymised) IP go by.
 */
function clientAddressOf(trustedProxies: readonly string[]): (c: RequestContext) => string | null {
  if (trustedProxies.length === 0) return socketAddress;
  let trust: ReturnType<typeof proxyaddr.compile>;
  try {
    trust = proxyaddr.compile([...trustedProxies]);
  } catch (error) {
    throw new Error(`Invalid configuration: TRUSTED_PROXIES: ${(error as Error).message}`);
  }
  return (c) => {
    const peer = socketAddress(c);
    if (peer === null) return null;
    const forwardedFor = c.req.header("x-forwarded-for");
    // proxy-addr reads a Node request; only these two fields of it.
    const request = {
      socket: { remoteAddress: peer },
      connection: { remoteAddress: peer },
      headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
    };
    return proxyaddr(request as unknown as Parameters<typeof proxyaddr>[0], trust);
  };
}

/**
 * Whether a trusted proxy says the client spoke TLS to it (`X-Forwarded-Proto`,
 * the value the proxy nearest to us set: the last of a list). From anyone
 * else the header is ignored: a client must not decide how its cookies are
 * marked.
 */
function forwardedOverTlsOf(trustedProxies: readonly string[]): (c: RequestContext) => boolean {
  if (trustedProxies.length === 0) return () => false;
  const trust = proxyaddr.compile([...trustedProxies]);
  return (c) => {
    const peer = socketAddress(c);
    if (peer === null || !trust(peer, 0)) return false;
    const proto = c.req.header("x-forwarded-proto")?.split(",").at(-1)?.trim().toLowerCase();
    return proto === "https";
  };
}

/** The gateway on Node: database opened and migrated, secrets ready, app built. */
export async function createNodeGateway(
  config: Config,
  options: { clock?: () => number; onQuery?: (sql: string) => void } = {},
) {
  // The same SHA-256, native: a send hashes a justification per recipient.
  useSha256(nodeSha256Hex);
  // Before anything is opened: a wrong proxy list fails the start.
  const clientIp = clientAddressOf(config.trustedProxies);
  const forwardedOverTls = forwardedOverTlsOf(config.trustedProxies);
  const dir = fileDatabaseDir(config.databaseUrl);
  if (dir) await mkdir(dir, { recursive: true });
  const secret = await masterSecret(config);
  const { db, close } = await openDatabase({
    url: config.databaseUrl,
    authToken: config.databaseAuthToken,
    migrationsFolder: MIGRATIONS_FOLDER,
    onQuery: options.onQuery,
  });
  const operator = await operatorCredential(db, config.operatorToken);
  const clock = options.clock ?? Date.now;
  const background = backgroundTasks();
  const deps: Deps = {
    db,
    clock,
    // Native and the same function (node-hashes.ts): one per recipient of a send.
    subjectKeyHasher: nodeKeyedHasher(secret, "subject"),
    operatorTokenHash: operator.hash,
    tokenKey: unsubscribeTokenKey(secret),
    confirmTokenKey: confirmTokenKey(secret),
    settingsKey: deriveKey(secret, "settings"),
    logSeed: deriveKey(secret, "log-signing-key"),
    ...(config.tsaUrl ? { tsaUrl: config.tsaUrl } : {}),
    publicUrl: config.publicUrl,
    provider: chooseProvider({
      outbox: createOutboxProvider(db, clock),
      sendgrid: createSendGridProvider({
        apiKey: config.sendgridApiKey ?? "",
        apiUrl: config.sendgridApiUrl,
      }),
      hasInstallationKey: Boolean(config.sendgridApiKey),
    }),
    runInBackground: background.run,
    rateLimiter: fixedWindowLimiter(clock),
    clientIp,
    forwardedOverTls,
  };
  // A stop's webhook goes out at once, after the stop is durable; a burst of
  // stops is one runner at a time, run again if more came meanwhile.
  let webhookRunner: Promise<unknown> | null = null;
  let again = false;
  const runWebhooks = (): void => {
    if (webhookRunner) {
      again = true;
      return;
    }
    webhookRunner = runWebhookDeliveries(deps).finally(() => {
      webhookRunner = null;
      if (again) {
        again = false;
        runWebhooks();
      }
    });
    background.run(webhookRunner);
  };
  deps.onWebhooksQueued = runWebhooks;
  // Delivery leaves the request (docs/design.md §7): a send wakes the worker over the database.
  const deliveries = deliveryWorker(deps);
  deps.wakeDelivery = deliveries.wake;
  return {
    app: createApp(deps),
    deps,
    /** Delivers the outbound webhooks that are due (retries: node.ts runs it periodically). */
    runWebhooks,
    generatedOperatorToken: operator.generated,
    close,
    /** The delivery worker: `wake` hands over what is due (node.ts wakes it on a timer too). */
    deliveries,
    /** Settles when the work started after answers (imports, deliveries) has. */
    idle: background.idle,
  };
}

/** What is shown, once, when an operator token was generated (only its hash is kept). */
export function operatorTokenNotice(token: string): string {
  return [
    "",
    "  A new operator token was generated. It is shown only this once:",
    "",
    `    GROUNDS_OPERATOR_TOKEN=${token}`,
    "",
    "  Keep it: it creates tenants (POST /v1/tenants). Only its hash is stored.",
    "",
  ].join("\n");
}

/**
 * The app with the static files Workers serve as assets (wrangler.toml
 * `[assets]`): the API reference's browser bundle, copied into public/ at
 * build time.
 */
export function withStaticAssets(app: ReturnType<typeof createApp>) {
  const publicDir = fileURLToPath(new URL("../../public", import.meta.url));
  // The outer app answers what no route matches: problem+json, as the inner app would.
  return new Hono()
    .use("/docs/scalar.js", serveStatic({ root: publicDir }))
    .route("/", app)
    .notFound(() => problemResponse("not-found"))
    .onError(renderError);
}
