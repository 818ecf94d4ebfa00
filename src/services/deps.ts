import type { Context } from "hono";
import type { Database } from "../db/database.js";
import type { ConfirmTokenKey } from "../domain/confirm-token.js";
import type { KeyedHasher } from "../domain/digest.js";
import type { UnsubscribeTokenKey } from "../domain/unsubscribe-token.js";
import type { MailProvider } from "./delivery/provider.js";
import type { RateLimiter } from "./rate-limiter.js";

/** What every service is given; nothing is read from the environment here. */
export interface Deps {
  db: Database;
  /** Epoch milliseconds now. Tests pass a fixed clock. */
  clock: () => number;
  /**
   * The keyed hash of a normalised address within a tenant: evidence and
   * proofs refer to subjects by it, never by the address (docs/design.md §6).
   */
  subjectKeyHasher: KeyedHasher;
  /** SHA-256 of the operator credential. */
  operatorTokenHash: string;
  /** The master secret's key for signing unsubscribe tokens (`/u/TOKEN`). */
  tokenKey: UnsubscribeTokenKey;
  /**
   * The key for double opt-in confirmation tokens (`/c/TOKEN`), derived for
   * that purpose alone: an unsubscribe token never confirms a subscription.
   */
  confirmTokenKey: ConfirmTokenKey;
  /**
   * The master secret's key for secrets kept at rest (a tenant's SendGrid API
   * key, AES-GCM: domain/secret-box.ts).
   */
  settingsKey: Uint8Array;
  /**
   * The seed of the installation's Ed25519 key that signs every tenant's log
   * checkpoints (docs/design.md §6), derived from GROUNDS_SECRET for that purpose alone.
   */
  logSeed: Uint8Array;
  /**
   * The RFC 3161 time-stamping authority that anchors checkpoints (docs/design.md §6,
   * `TSA_URL`); unset, checkpoints are signed but not anchored.
   */
  tsaUrl?: string;
  /** Base of the links in mail (unsubscribe, preferences, confirmation). */
  publicUrl: string;
  /** SendGrid, or the local outbox when no key is set. */
  provider: MailProvider;
  /**
   * Runs work after the answer was sent (an import's processing). Unset, the
   * HTTP app hands it to the Worker's `waitUntil` where there is one.
   */
  runInBackground?: (task: Promise<unknown>) => void;
  /**
   * Hands the chunks of a proven send to a queue whose consumer delivers them one by one
   * (Workers: Cloudflare Queues, as a request's CPU time cannot cover thousands of recipients),
   * after `delaySeconds` when a chunk waits out a provider outage. Unset on Node.
   */
  enqueueChunks?: (
    tenantId: string,
    messageId: string,
    chunks: readonly number[],
    options?: { delaySeconds?: number },
  ) => Promise<void>;
  /**
   * Tells the delivery worker over the database (Node) that chunks are due: it hands them over
   * after the request that proved them has answered (docs/design.md §7).
   */
  wakeDelivery?: () => void;
  /**
   * Called once evidence that outbound webhooks tell of is durable: wakes the
   * webhook runner (Node: in process; Workers: after the answer). Unset, the
   * periodic runner (Node's loop, the Workers cron) delivers them.
   */
  onWebhooksQueued?: () => void;
  /** Limits requests to the public pages per client and per token (per process or isolate). */
  rateLimiter: RateLimiter;
  /**
   * The client's IP address as the runtime knows it (Node: the socket; Workers:
   * `CF-Connecting-IP`), or null. Unset, the HTTP app reads `CF-Connecting-IP`.
   * Headers a client can set itself (X-Forwarded-For) are not trusted.
   */
  clientIp?: (c: Context) => string | null;
  /**
   * Whether the client reached the gateway over TLS when a trusted reverse
   * proxy terminated it (Node: `X-Forwarded-Proto: https` from a proxy in
   * TRUSTED_PROXIES). Unset, only the request's own URL counts (Workers see
   * https themselves).
   */
  forwardedOverTls?: (c: Context) => boolean;
}

export function subjectKeyOf(deps: Deps, tenantId: string, normalisedAddress: string): string {
  return deps.subjectKeyHasher(`${tenantId}\n${normalisedAddress}`);
}
