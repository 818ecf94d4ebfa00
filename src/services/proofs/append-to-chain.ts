import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type ChainName, chainHeads } from "../../db/schema.js";
import { chainHeadsEntry, entryText } from "../../domain/proof/log-entry.js";
import type { Deps } from "../deps.js";
import {
  isLogCollision,
  type LogHead,
  type LogWrite,
  planLogAppend,
  readLogHead,
} from "./log-store.js";
import { verifyChains } from "./verify-chains.js";

/** Where a chain ends: its last row's `seq` and `hash`. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** What one attempt at an append writes. */
export interface ChainWrite<R> {
  /** Every statement of the append, the chained rows among them. */
  statements: BatchItem<"sqlite">[];
  /** The chain's new head, or null when the append adds no row. */
  head: ChainHead | null;
  /** What the append answers. */
  result: R;
  /**
   * The entries this append adds to the tenant's Merkle log, in order: the
   * first takes index `log.size` of the log `attempt` was given.
   */
  entries?: readonly LogWrite[];
}

/**
 * Two processes appending to one tenant's log without pause (thousands of
 * concurrent one-click unsubscribes through two gateways on one file)
 * collide on most attempts: 16 attempts with a linear pause let 8 of 1,200
 * objections fail. With the pause growing exponentially (capped) and more
 * attempts, none did.
 */
const ATTEMPTS = 40;

/**
 * A short random pause before planning again after a collision: writers of
 * two processes that keep reading the same head would otherwise keep
 * colliding in step.
 */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.random() * Math.min(200, 2 ** Math.min(attempt, 8))),
  );
}

/** Appends to one chain of one tenant in this process run one after another. */
const queues = new WeakMap<object, Map<string, Promise<unknown>>>();

function serialised<T>(deps: Deps, key: string, work: () => Promise<T>): Promise<T> {
  let byChain = queues.get(deps.db);
  if (!byChain) {
    byChain = new Map();
    queues.set(deps.db, byChain);
  }
  const previous = byChain.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.catch(() => undefined);
  byChain.set(key, settled);
  void settled.then(() => {
    if (byChain.get(key) === settled) byChain.delete(key);
  });
  return next;
}

/** Whether a write failed because another writer took the same `(tenant, seq)` of the chain. */
export function isSeqCollision(chain: ChainName, error: unknown): boolean {
  // The chains' tables are named after them.
  return new RegExp(`UNIQUE constraint failed: ${chain}\\.tenant_id, ${chain}\\.seq`).test(
    errorText(error),
  );
}

export function errorText(error: unknown): string {
  return `${String(error)} ${String((error as { cause?: unknown })?.cause ?? "")}`;
}

/**
 * Appends to a tenant's chain (docs/design.md §6) in ONE atomic batch: the head is
 * read, `attempt` links the new rows after it and says what to write, and
 * the batch writes it all with the moved head; either all of it is
 * written, or none.
 *
 * No interactive transaction: on an embedded libSQL file, a writer that waits
 * for the lock blocks the only thread the open transaction needs. Instead
 * `(tenant, seq)` is unique, so if another process appended in between, the
 * batch fails whole and `attempt` runs again on the new head. `attempt` is
 * called after the head is read, so whatever it reads is at least as new as
 * the head: a write it did not see has moved the head and fails the batch.
 * Within this process appends to one chain of a tenant are queued, so they
 * never collide. `retryOn` names other failures that mean "someone wrote
 * first" (e.g. the same webhook event applied concurrently).
 */
export function appendToChain<R>(
  deps: Deps,
  tenantId: string,
  chain: ChainName,
  attempt: (head: ChainHead | null, log: LogHead) => Promise<ChainWrite<R>>,
  retryOn: (error: unknown) => boolean = () => false,
): Promise<R> {
  // One Merkle log per tenant holds both chains' rows: every append of a
  // tenant in this process is queued behind the one before.
  return serialised(deps, tenantId, async () => {
    for (let attempts = 1; ; attempts++) {
      const heads = await deps.db
        .select({ chain: chainHeads.chain, seq: chainHeads.seq, hash: chainHeads.hash })
        .from(chainHeads)
        .where(eq(chainHeads.tenantId, tenantId));
      const stored = heads.find((h) => h.chain === chain);
      const log = await readLogHead(deps, tenantId);
      // Upgrading (docs/design.md §6): a tenant whose proofs so far are per-row
      // hash chains gets, as the first entry of its log, the heads of those
      // chains, so the new log commits to the old history.
      const opening: LogWrite[] =
        log.size === 0 && heads.length > 0
          ? [
              {
                kind: "chains",
                ref: null,
                text: entryText(
                  chainHeadsEntry({
                    heads: Object.fromEntries(
                      heads.map((h) => [h.chain, { seq: h.seq, hash: h.hash }]),
                    ),
                    verified: (await verifyChains(deps, tenantId)).ok,
                    verifiedAt: deps.clock(),
                  }),
                ),
              },
            ]
          : [];
      const given: LogHead = { size: log.size + opening.length, frontier: log.frontier };
      const {
        statements,
        head,
        result,
        entries = [],
      } = await attempt(stored ? { seq: stored.seq, hash: stored.hash } : null, given);
      if (entries.length > 0) {
        const appended = await planLogAppend(deps, tenantId, log, [...opening, ...entries]);
        statements.push(...appended.statements);
      }
      if (head) {
        statements.push(
          deps.db
            .insert(chainHeads)
            .values({ tenantId, chain, seq: head.seq, hash: head.hash })
            .onConflictDoUpdate({
              target: [chainHeads.tenantId, chainHeads.chain],
              set: { seq: head.seq, hash: head.hash },
            }),
        );
      }
      const [first, ...rest] = statements;
      if (!first) return result;
      try {
        await deps.db.batch([first, ...rest]);
        return result;
      } catch (error) {
        const collided = isSeqCollision(chain, error) || isLogCollision(error);
        if (!(collided || retryOn(error)) || attempts >= ATTEMPTS) throw error;
        await backoff(attempts);
      }
    }
  });
}
