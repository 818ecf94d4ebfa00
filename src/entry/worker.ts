import type {
  ExecutionContext,
  ForwardableEmailMessage,
  MessageBatch,
  Queue,
  ScheduledController,
} from "@cloudflare/workers-types";
import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { chooseProvider } from "../adapters/choose-provider.js";
import { createOutboxProvider } from "../adapters/outbox.js";
import { createFetchSendGridProvider } from "../adapters/sendgrid-fetch.js";
import { readConfig } from "../config.js";
import { loggableError } from "../db/errors.js";
import * as schema from "../db/schema.js";
import { confirmTokenKey } from "../domain/confirm-token.js";
import { deriveKey, keyedHasher, sha256Hex } from "../domain/digest.js";
import { unsubscribeTokenKey } from "../domain/unsubscribe-token.js";
import { createApp } from "../http/app.js";
import { problemResponse } from "../http/problem.js";
import type { Deps } from "../services/deps.js";
import { adoptUnchainedEvidence } from "../services/evidence/adopt-unchained-evidence.js";
import {
  asChunkJob,
  type ChunkJob,
  deliverQueuedChunk,
  sweepStaleChunks,
} from "../services/messages/queued-chunks.js";
import { runDueMessages } from "../services/messages/run-due-messages.js";
import { settleUnknownChunks } from "../services/messages/settle-unknown-chunks.js";
import { runWebhookDeliveries } from "../services/outbound-webhooks/run-deliveries.js";
import {
  readRawMail,
  receiveMailtoUnsubscribe,
  tenantOfUnsubscribeAddress,
} from "../services/preferences/receive-mailto-unsubscribe.js";
import { anchorDueLogs } from "../services/proofs/anchor-log.js";
import { runRetention } from "../services/proofs/run-retention.js";
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
  /** An RFC 3161 time-stamping authority that anchors the logs' checkpoints (docs/design.md §6). */
  TSA_URL?: string;
  /** wrangler.toml `[[queues.producers]]`: chunks of large sends. Unset: delivered in the request. */
  DELIVERY_QUEUE?: Queue<ChunkJob>;
}

type Gateway = { app: ReturnType<typeof createApp>; deps: Deps };

/** Cloudflare Queues takes at most 100 messages per `sendBatch`. */
const QUEUE_BATCH_LIMIT = 100;

/** wrangler.toml `[triggers] crons`: the daily one runs retention, every other one due sends. */
const RETENTION_CRON = "17 3 * * *";

let ready: Promise<Gateway> | undefined;
/** Set when a request made outbound webhooks due: the runner goes after its answer. */
let webhooksQueued = false;

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
  if (!env.PUBLIC_URL) {
    // Else readConfig's default, localhost: every link in mail would be dead.
    throw new Error("PUBLIC_URL must be set: the https origin recipients' links point to.");
  }
  if (!isHttpsOrLoopback(config.publicUrl)) {
    throw new Error("PUBLIC_URL must be an https URL (http only on localhost, for wrangler dev).");
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
    logSeed: deriveKey(config.secret, "log-signing-key"),
    ...(config.tsaUrl ? { tsaUrl: config.tsaUrl } : {}),
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
    onWebhooksQueued: () => {
      webhooksQueued = true;
    },
  };
  const queue = env.DELIVERY_QUEUE;
  if (queue) {
    deps.enqueueChunks = async (tenantId, messageId, chunks, options = {}) => {
      for (let i = 0; i < chunks.length; i += QUEUE_BATCH_LIMIT) {
        await queue.sendBatch(
          chunks
            .slice(i, i + QUEUE_BATCH_LIMIT)
            .map((chunk) => ({ body: { tenantId, messageId, chunk } })),
          // Cloudflare Queues delays a message by at most 12 hours; a backoff is at most 30 min.
          options.delaySeconds ? { delaySeconds: Math.min(43_200, options.delaySeconds) } : {},
        );
      }
    };
  }
  return { app: createApp(deps), deps };
}

/** Links in mail must be https; plain http is only for a Worker run locally. */
function isHttpsOrLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === "https:") return true;
  return protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(hostname);
}

/** A stream's bytes, whole (an e-mail: Email Routing caps it at 25 MiB). */
async function bytesOf(stream: ForwardableEmailMessage["raw"]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done || !value) break;
    chunks.push(value);
    length += value.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The gateway of this isolate, built once; a failed start is retried by the next event. */
function gatewayOf(env: WorkerEnv): Promise<Gateway> {
  ready ??= gateway(env).catch((error: unknown) => {
    ready = undefined;
    throw error;
  });
  return ready;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let app: Gateway["app"];
    try {
      ({ app } = await gatewayOf(env));
    } catch (error) {
      // Misconfigured (a secret missing, a bad URL): say why in the log, and answer as every
      // other failure does (problem+json, nothing internal) instead of throwing, which
      // Cloudflare would turn into an HTML error page. The next request tries again.
      console.error("[grounds] the Worker cannot start:", error);
      return problemResponse("internal");
    }
    const response = await app.fetch(request, env, ctx);
    if (webhooksQueued) {
      // A stop's webhook goes at once, after the answer; the cron retries.
      webhooksQueued = false;
      const { deps } = await gatewayOf(env);
      ctx.waitUntil(
        runWebhookDeliveries(deps).catch((error: unknown) => {
          console.error(
            "[grounds] outbound webhooks:",
            error instanceof Error ? error.name : error,
          );
        }),
      );
    }
    return response;
  },

  /**
   * The delivery queue's consumer: each message is one chunk of a proven send. A failure to
   * reach the database is retried by the queue; a provider refusal is not a failure here (the
   * chunk records it). A redelivered message sends nothing twice (queued-chunks.ts).
   */
  async queue(batch: MessageBatch<unknown>, env: WorkerEnv): Promise<void> {
    const { deps } = await gatewayOf(env);
    for (const message of batch.messages) {
      const job = asChunkJob(message.body);
      if (!job) {
        console.error("[grounds] dropped a queue message that is not a chunk job");
        message.ack();
        continue;
      }
      try {
        await deliverQueuedChunk(deps, job);
        message.ack();
      } catch (error) {
        console.error(
          `[grounds] chunk ${job.chunk} of ${job.messageId} will be retried: ${loggableError(error)}`,
        );
        message.retry();
      }
    }
  },

  /**
   * Cloudflare Email Routing: mail to a tenant's unsubscribe address (the
   * `mailto:` of `List-Unsubscribe`, its contact address) routed to this
   * Worker. A genuine token in it records the unsubscribe (channel `email`),
   * as Inbound Parse does on any runtime (receive-mailto-unsubscribe.ts);
   * other mail is kept for the tenant's staff. Mail to an address no tenant
   * has is rejected, so its sender learns it reached nobody. A failure throws:
   * Email Routing then refuses the message temporarily and the sender's
   * server tries again.
   */
  async email(
    message: ForwardableEmailMessage,
    env: WorkerEnv,
    ctx: ExecutionContext,
  ): Promise<void> {
    const { deps } = await gatewayOf(env);
    const tenant = await tenantOfUnsubscribeAddress(deps, message.to);
    if (!tenant) {
      message.setReject("No such mailbox here.");
      return;
    }
    await receiveMailtoUnsubscribe(deps, tenant, await readRawMail(await bytesOf(message.raw)));
    // The objection is durable: its outbound webhook goes now, not at the next cron.
    if (webhooksQueued) {
      webhooksQueued = false;
      ctx.waitUntil(runWebhookDeliveries(deps).catch(() => undefined));
    }
  },

  /**
   * Cron Triggers: every minute, scheduled sends when due and the queue's safety net (chunks
   * whose queue message was lost, or cut off mid-hand-over); once a day retention, and the
   * chaining of any evidence stored before the evidence chain existed.
   */
  async scheduled(controller: ScheduledController, env: WorkerEnv): Promise<void> {
    const { deps } = await gatewayOf(env);
    if (controller.cron === RETENTION_CRON) {
      await runRetention(deps, deps.clock());
      // Evidence from before the evidence chain, if any is left (docs/proof-log.md).
      await adoptUnchainedEvidence(deps);
      return;
    }
    await runDueMessages(deps);
    await sweepStaleChunks(deps);
    // Logs that grew are anchored once their last anchor is an interval old (docs/design.md §6).
    await anchorDueLogs(deps);
    // Outbound webhooks whose retry fell due, and any a request's runner left.
    await runWebhookDeliveries(deps);
    // Unknown hand-overs settled from the provider's events; those to send again are enqueued.
    const { requeued } = await settleUnknownChunks(deps);
    for (const { tenantId, messageId, chunk } of requeued) {
      await deps.enqueueChunks?.(tenantId, messageId, [chunk]);
    }
  },
};
