import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readConfig } from "../../src/config.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { OPERATOR_TOKEN, SECRET } from "./gateway.js";
import {
  type GatewayRequestInit,
  type GatewayUnderTest,
  gatewayRequest,
} from "./gateway-under-test.js";
import { startHranaServer } from "./hrana-server.js";

/**
 * The Workers build under test: the Worker of wrangler.toml, bundled by wrangler and run in
 * workerd (`unstable_startWorker`, local only), reaching a real libSQL engine over HTTP through
 * the test Hrana server on `dbPath`. Start it once per test file: about a second.
 */

// Nothing in a test may reach Cloudflare (docs/design.md: no account needed). Set before wrangler loads.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
process.env.WRANGLER_SEND_METRICS = "false";
process.env.WRANGLER_LOG ??= "warn";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER_CONFIG = join(PROJECT_ROOT, "wrangler.toml");

/** Bindings the Worker reads as secrets (the rest of `vars` are plain text). */
const SECRET_NAMES = new Set([
  "GROUNDS_SECRET",
  "GROUNDS_OPERATOR_TOKEN",
  "DATABASE_AUTH_TOKEN",
  "SENDGRID_API_KEY",
]);

export interface StartTestWorkerOptions {
  /** The libSQL file: migrated here, then served to the Worker over Hrana. Kept on stop. */
  dbPath: string;
  /**
   * Bindings for this test, over the defaults (DATABASE_URL = the Hrana server,
   * GROUNDS_SECRET = SECRET, GROUNDS_OPERATOR_TOKEN = OPERATOR_TOKEN,
   * PUBLIC_URL = http://localhost:8787); `undefined` removes one.
   */
  vars?: Record<string, string | undefined>;
  /** Give up starting after this long (wrangler can hang on a build error). Default 30 s. */
  startTimeoutMs?: number;
  /** The wrangler configuration of the Worker. Default: the project's wrangler.toml. */
  config?: string;
}

/** A log line or an uncaught error reported by workerd. */
export interface WorkerLog {
  level: string;
  message: string;
}

export interface TestWorker extends GatewayUnderTest {
  readonly runtime: "workerd";
  /** The dev server, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The test Hrana (libSQL over HTTP) server the Worker's DATABASE_URL points at. */
  readonly databaseUrl: string;
  /** `request` under the name the brief used; the two are the same function. */
  fetch(path: string, init?: GatewayRequestInit): Promise<Response>;
  /** What the Worker logged (console.*) and threw, oldest first. */
  readonly logs: WorkerLog[];
}

/** Rejects with `message` (and what was logged) if `promise` takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Migrates the database file with the project's migrations (as the Node gateway does on start). */
async function prepareDatabase(dbPath: string): Promise<void> {
  const gateway = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${dbPath}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    }),
  );
  gateway.close();
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  if (typeof error === "object" && error !== null && "reason" in error) {
    // wrangler's error events: { source, reason, cause }
    const { source, reason, cause } = error as {
      source?: unknown;
      reason?: unknown;
      cause?: unknown;
    };
    return `${String(source)}: ${String(reason)}${cause instanceof Error ? `: ${cause.message}` : ""}`;
  }
  return String(error);
}

export async function startTestWorker(options: StartTestWorkerOptions): Promise<TestWorker> {
  const { dbPath, startTimeoutMs = 30_000, config = WRANGLER_CONFIG } = options;
  await prepareDatabase(dbPath);
  const hrana = await startHranaServer({ dbPath });

  const values: Record<string, string | undefined> = {
    DATABASE_URL: hrana.url,
    GROUNDS_SECRET: SECRET,
    GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    // wrangler.toml leaves it unset on purpose (it must be the production origin there).
    PUBLIC_URL: "http://localhost:8787",
    ...options.vars,
  };
  const bindings = Object.fromEntries(
    Object.entries(values).flatMap(([name, value]) =>
      value === undefined
        ? []
        : [[name, { type: SECRET_NAMES.has(name) ? "secret_text" : "plain_text", value }]],
    ),
  );

  const logs: WorkerLog[] = [];
  const problems: string[] = [];
  // An empty scratch dir: wrangler's local state, and an env file that does not exist, so that a
  // developer's .dev.vars or .env cannot change what the Worker under test sees.
  const scratch = mkdtempSync(join(tmpdir(), "grounds-worker-"));

  const { unstable_startWorker } = await import("wrangler");
  let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
  const seconds = startTimeoutMs / 1000;
  const timeoutMessage = () =>
    [
      `The Worker did not start in workerd within ${seconds} s. wrangler hangs instead of failing ` +
        "on some build errors: try `npm run build` to see the error.",
      ...problems,
      ...logs.map((l) => `[${l.level}] ${l.message}`),
    ].join("\n  ");

  let abandoned = false;
  const start = async () => {
    worker = await unstable_startWorker({
      config,
      envFiles: [join(scratch, "none.env")],
      bindings,
      dev: {
        server: { hostname: "127.0.0.1", port: 0 },
        inspector: false,
        watch: false,
        liveReload: false,
        remote: false,
        persist: join(scratch, "state"),
        structuredLogsHandler: (log: WorkerLog) => {
          logs.push({ level: log.level, message: log.message });
        },
      },
    });
    // Started after the timeout gave up on it: stop it, or workerd would outlive the test.
    if (abandoned) await worker.raw.teardown();
    const failed = new Promise<never>((_, reject) => {
      worker?.raw.on("error", (error: unknown) => {
        problems.push(describeError(error));
        reject(new Error(`The Worker failed to start in workerd: ${describeError(error)}`));
      });
    });
    worker.raw.on("runtimeError", (event: { text?: string; stack?: string }) => {
      logs.push({ level: "uncaught", message: event.stack ?? event.text ?? String(event) });
    });
    await Promise.race([worker.ready, failed]);
    const url = await worker.url;
    // `ready` comes before workerd has loaded the Worker (~2 s more for this bundle): wait for a
    // first answer here, so that start-up is paid once and a broken Worker fails the start.
    const first = await Promise.race([globalThis.fetch(new URL("/healthz", url)), failed]);
    await first.body?.cancel();
    return url;
  };

  let url: string;
  try {
    url = (await within(start(), startTimeoutMs, timeoutMessage)).origin;
  } catch (error) {
    // dispose() waits for `ready`, which may never come: tear the environment down directly.
    abandoned = true;
    await Promise.allSettled([worker?.raw.teardown(), hrana.close()]);
    rmSync(scratch, { recursive: true, force: true });
    if (error instanceof Error && error.message.startsWith("The Worker ")) throw error;
    throw new Error(`The Worker failed to start in workerd: ${describeError(error)}`, {
      cause: error,
    });
  }

  const request = (path: string, init?: GatewayRequestInit) => {
    const req = gatewayRequest(url, path, init);
    // What Cloudflare's edge sets for every request (src/entry/worker.ts reads it).
    if (init?.clientIp) req.headers.set("cf-connecting-ip", init.clientIp);
    return globalThis.fetch(req);
  };

  return {
    runtime: "workerd",
    url,
    databaseUrl: hrana.url,
    dbPath,
    clock: Date.now,
    logs,
    request,
    fetch: request,
    async stop() {
      try {
        await within(
          Promise.resolve(worker?.dispose()),
          10_000,
          () => "workerd did not stop within 10 s",
        );
      } finally {
        await hrana.close();
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}
