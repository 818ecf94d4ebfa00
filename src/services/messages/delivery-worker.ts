import { and, asc, eq, lte } from "drizzle-orm";
import { deliveryChunks, messages } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { loadTenant, type TenantRow } from "../tenant.js";
import { yieldToOtherWork } from "../yield-to-other-work.js";
import { deliverChunkOf, settleMessage } from "./deliver-message.js";
import { settleUnknownChunks } from "./settle-unknown-chunks.js";

/** Chunks read per query of the worker; each is claimed on its own before it is handed over. */
const BATCH = 20;

/**
 * Hands over the chunks that are due — queued, and past their backoff — one at a time, oldest
 * first, yielding to other work between chunks (a recipient's unsubscribe never waits behind a
 * whole send). Each chunk is claimed before it is sent, so several workers on one database
 * (two processes) never send one twice. Answers how many chunks this call handled.
 */
export async function deliverDueChunks(deps: Deps): Promise<number> {
  const due = await deps.db
    .select({
      messageId: deliveryChunks.messageId,
      chunk: deliveryChunks.chunk,
      tenantId: messages.tenantId,
    })
    .from(deliveryChunks)
    .innerJoin(messages, eq(messages.id, deliveryChunks.messageId))
    .where(
      and(eq(deliveryChunks.status, "queued"), lte(deliveryChunks.nextAttemptAt, deps.clock())),
    )
    .orderBy(
      asc(deliveryChunks.nextAttemptAt),
      asc(deliveryChunks.messageId),
      asc(deliveryChunks.chunk),
    )
    .limit(BATCH);
  const tenants = new Map<string, TenantRow>();
  const prepared: Parameters<typeof deliverChunkOf>[4] = new Map();
  const touched = new Set<string>();
  let handled = 0;
  for (const { messageId, chunk, tenantId } of due) {
    let tenant = tenants.get(tenantId);
    if (!tenant) {
      tenant = await loadTenant(deps, tenantId);
      tenants.set(tenantId, tenant);
    }
    const result = await deliverChunkOf(deps, tenant, messageId, chunk, prepared);
    if (result.status !== "gone") {
      handled += 1;
      touched.add(messageId);
    }
    await yieldToOtherWork();
  }
  for (const messageId of touched) await settleMessage(deps, messageId);
  return handled;
}

/**
 * The durable delivery queue on Node (docs/design.md §7): a worker over the database. Its state is
 * the `delivery_chunks` table, so a restart loses nothing; `wake` runs a pass now (after a
 * send is proven, and on a timer for backoff and unknown outcomes). One pass at a time per
 * process; a wake during a pass makes it go round once more.
 */
export function deliveryWorker(deps: Deps) {
  let running: Promise<void> | null = null;
  let again = false;

  async function pass(): Promise<void> {
    do {
      again = false;
      while ((await deliverDueChunks(deps)) > 0) {
        // Until nothing is due.
      }
      const { requeued } = await settleUnknownChunks(deps);
      if (requeued.length > 0) again = true;
    } while (again);
  }

  function wake(): void {
    if (running) {
      again = true;
      return;
    }
    const current = pass().finally(() => {
      running = null;
    });
    running = current;
    if (deps.runInBackground) deps.runInBackground(current);
    else
      current.catch((error: unknown) => {
        console.error(`[grounds] delivery: ${error instanceof Error ? error.name : "error"}`);
      });
  }

  return {
    wake,
    /** Settles when the pass under way (if any) has. */
    idle: async () => {
      while (running) await running.catch(() => undefined);
    },
  };
}
