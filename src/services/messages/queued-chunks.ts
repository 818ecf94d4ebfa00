import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { deliveryChunks, justifications, messages } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { loadTenant } from "../tenant.js";
import { deliverChunkOf, settleMessage } from "./deliver-message.js";

/** One queue message: one chunk of a proven send (`deps.enqueueChunks`). */
export interface ChunkJob {
  tenantId: string;
  messageId: string;
  chunk: number;
}

/** Reads a queue message's body, refusing anything else: the queue is not trusted to be ours only. */
export function asChunkJob(body: unknown): ChunkJob | null {
  if (typeof body !== "object" || body === null) return null;
  const { tenantId, messageId, chunk } = body as Record<string, unknown>;
  if (typeof tenantId !== "string" || typeof messageId !== "string") return null;
  if (typeof chunk !== "number" || !Number.isInteger(chunk) || chunk < 0) return null;
  return { tenantId, messageId, chunk };
}

/**
 * The queue consumer's work for one message. Queues deliver at least once, so this may run twice
 * for a chunk: the chunk's conditional claim makes the second run send nothing. The message is
 * settled after every chunk; the last one to finish gives it its final status.
 */
export async function deliverQueuedChunk(deps: Deps, job: ChunkJob): Promise<void> {
  const tenant = await loadTenant(deps, job.tenantId);
  const result = await deliverChunkOf(deps, tenant, job.messageId, job.chunk);
  if (result.status === "retry" && deps.enqueueChunks) {
    // A provider outage: the chunk is queued again in the database, and its queue message is
    // sent again to arrive when the backoff ends (the cron's sweep is the net under it).
    const delaySeconds = Math.max(0, Math.ceil((result.at - deps.clock()) / 1000));
    await deps.enqueueChunks(job.tenantId, job.messageId, [job.chunk], { delaySeconds });
  }
  await settleMessage(deps, job.messageId);
}

/**
 * Longer than a consumer invocation can last (Cloudflare stops one after 15 minutes of wall
 * time, and a chunk's retries take under 5), so a chunk this old in `handing` was cut off.
 */
export const STALE_CHUNK_MS = 15 * 60_000;

/**
 * The queue's safety net, run by the Cron Trigger (Workers only; Node recovers at start with
 * `resumeInterruptedSends`). A chunk still `queued` long after its send was proven lost its
 * queue message (enqueueing failed, or the queue gave up): it is enqueued again — harmless if
 * the first is still coming, the claim sends it once. A chunk left `handing` was cut off while
 * being handed over and may or may not have reached the provider: it becomes `unknown`, never
 * sent again, as after a restart on Node; its message is then settled.
 */
export async function sweepStaleChunks(deps: Deps): Promise<{ requeued: number; unknown: number }> {
  const enqueue = deps.enqueueChunks;
  if (!enqueue) return { requeued: 0, unknown: 0 };
  const now = deps.clock();
  const before = now - STALE_CHUNK_MS;
  const stale = await deps.db
    .select({
      messageId: deliveryChunks.messageId,
      chunk: deliveryChunks.chunk,
      status: deliveryChunks.status,
      tenantId: messages.tenantId,
    })
    .from(deliveryChunks)
    .innerJoin(messages, eq(messages.id, deliveryChunks.messageId))
    .where(
      and(
        inArray(deliveryChunks.status, ["queued", "handing"]),
        lt(deliveryChunks.updatedAt, before),
        // A chunk waiting out an outage has its queue message coming: not lost.
        lt(deliveryChunks.nextAttemptAt, before),
      ),
    )
    .limit(1000);
  const requeue = new Map<string, { tenantId: string; chunks: number[] }>();
  let unknown = 0;
  for (const { messageId, chunk, status, tenantId } of stale) {
    const thisChunk = and(
      eq(deliveryChunks.messageId, messageId),
      eq(deliveryChunks.chunk, chunk),
      eq(deliveryChunks.status, status),
      lt(deliveryChunks.updatedAt, before),
    );
    if (status === "queued") {
      // Touched, so that the next sweep waits as long again before enqueueing it once more.
      const touched = await deps.db
        .update(deliveryChunks)
        .set({ updatedAt: now })
        .where(thisChunk)
        .returning({ chunk: deliveryChunks.chunk });
      if (touched.length === 0) continue;
      const entry = requeue.get(messageId) ?? { tenantId, chunks: [] };
      entry.chunks.push(chunk);
      requeue.set(messageId, entry);
      continue;
    }
    const error = "interrupted while handing to the provider";
    const [marked] = await deps.db.batch([
      deps.db
        .update(deliveryChunks)
        .set({ status: "unknown", error, updatedAt: now })
        .where(thisChunk)
        .returning({ chunk: deliveryChunks.chunk }),
      deps.db
        .update(justifications)
        .set({ status: "unknown", error, statusAt: now })
        .where(
          and(
            eq(justifications.messageId, messageId),
            eq(justifications.chunk, chunk),
            eq(justifications.status, "pending"),
            // Only if this sweep marked the chunk: not one a consumer just finished.
            sql`exists (select 1 from ${deliveryChunks} where ${deliveryChunks.messageId} = ${messageId} and ${deliveryChunks.chunk} = ${chunk} and ${deliveryChunks.status} = 'unknown')`,
          ),
        ),
    ]);
    if (marked.length === 0) continue;
    unknown += 1;
    await settleMessage(deps, messageId);
  }
  let requeued = 0;
  for (const [messageId, { tenantId, chunks }] of requeue) {
    await enqueue(tenantId, messageId, chunks);
    requeued += chunks.length;
  }
  return { requeued, unknown };
}
