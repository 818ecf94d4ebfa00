import { and, desc, eq, isNotNull } from "drizzle-orm";
import { chainCheckpoints, chainHeads, logCheckpoints } from "../../db/schema.js";
import type { Deps } from "../deps.js";

export interface LogState {
  /** Each of the tenant's logs: its head (the latest entry) and its start. */
  logs: {
    name: string;
    head: { seq: number; hash: string } | null;
    /** Where verification starts after retention removed older entries; null at the genesis. */
    checkpoint: { seq: number; hash: string; at: string } | null;
  }[];
  /** The Merkle log's latest signed checkpoint (C2SP tlog-checkpoint, a signed note). */
  checkpoint: { size: number; note: string; at: string } | null;
  /** The latest anchor (an RFC 3161 time-stamp of a checkpoint); null while none is kept. */
  lastAnchor: { at: string; size: number } | null;
}

/**
 * The state of the tenant's proof log for the workbench (docs/design.md §6): the
 * Merkle log's latest signed checkpoint and last anchor, and each per-row
 * chain's head and retention checkpoint. It reads stored
 * state only; verifying it all (`verifyIntegrity`) is run on request.
 */
export async function logState(deps: Deps, tenantId: string): Promise<LogState> {
  const [heads, checkpoints, [latest], [anchored]] = await Promise.all([
    deps.db.select().from(chainHeads).where(eq(chainHeads.tenantId, tenantId)),
    deps.db.select().from(chainCheckpoints).where(eq(chainCheckpoints.tenantId, tenantId)),
    deps.db
      .select()
      .from(logCheckpoints)
      .where(eq(logCheckpoints.tenantId, tenantId))
      .orderBy(desc(logCheckpoints.size))
      .limit(1),
    deps.db
      .select({ size: logCheckpoints.size, anchoredAt: logCheckpoints.anchoredAt })
      .from(logCheckpoints)
      .where(and(eq(logCheckpoints.tenantId, tenantId), isNotNull(logCheckpoints.anchoredAt)))
      .orderBy(desc(logCheckpoints.anchoredAt))
      .limit(1),
  ]);
  const names = [...new Set([...heads, ...checkpoints].map((r) => r.chain))].sort();
  return {
    logs: names.map((name) => {
      const head = heads.find((h) => h.chain === name);
      const checkpoint = checkpoints.find((c) => c.chain === name);
      return {
        name,
        head: head ? { seq: head.seq, hash: head.hash } : null,
        checkpoint: checkpoint
          ? {
              seq: checkpoint.seq,
              hash: checkpoint.hash,
              at: new Date(checkpoint.createdAt).toISOString(),
            }
          : null,
      };
    }),
    checkpoint: latest
      ? { size: latest.size, note: latest.note, at: new Date(latest.createdAt).toISOString() }
      : null,
    lastAnchor:
      anchored?.anchoredAt != null
        ? { at: new Date(anchored.anchoredAt).toISOString(), size: anchored.size }
        : null,
  };
}
