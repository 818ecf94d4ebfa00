import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type ChainName, chainHeads } from "../../db/schema.js";
import type { Deps } from "../deps.js";

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
}

const ATTEMPTS = 8;

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
 * Appends to a tenant's chain (DESIGN §6) in ONE atomic batch: the head is
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
  attempt: (head: ChainHead | null) => Promise<ChainWrite<R>>,
  retryOn: (error: unknown) => boolean = () => false,
): Promise<R> {
  return serialised(deps, `${chain}\n${tenantId}`, async () => {
    for (let attempts = 1; ; attempts++) {
      const [stored] = await deps.db
        .select({ seq: chainHeads.seq, hash: chainHeads.hash })
        .from(chainHeads)
        .where(and(eq(chainHeads.tenantId, tenantId), eq(chainHeads.chain, chain)));
      const { statements, head, result } = await attempt(stored ?? null);
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
        if (!(isSeqCollision(chain, error) || retryOn(error)) || attempts >= ATTEMPTS) throw error;
      }
    }
  });
}
