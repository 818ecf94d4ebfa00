import { eq } from "drizzle-orm";
import { chainCheckpoints, chainHeads } from "../../db/schema.js";
import type { Deps } from "../deps.js";

export interface LogState {
  /** Each of the tenant's logs: its head (the latest entry) and its start. */
  logs: {
    name: string;
    head: { seq: number; hash: string } | null;
    /** Where verification starts after retention removed older entries; null at the genesis. */
    checkpoint: { seq: number; hash: string; at: string } | null;
  }[];
  /** The latest anchor (an RFC 3161 time-stamp of a checkpoint); null while none is kept. */
  lastAnchor: { at: string; checkpoint: string } | null;
}

/**
 * The state of the tenant's proof log for the workbench (DESIGN §6): each
 * log's head and retention checkpoint, and the last anchor. It reads stored
 * state only; verifying it all (`verifyIntegrity`) is run on request.
 */
export async function logState(deps: Deps, tenantId: string): Promise<LogState> {
  const [heads, checkpoints] = await Promise.all([
    deps.db.select().from(chainHeads).where(eq(chainHeads.tenantId, tenantId)),
    deps.db.select().from(chainCheckpoints).where(eq(chainCheckpoints.tenantId, tenantId)),
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
    // No anchoring is stored yet; the proof log's checkpoints and anchors fill this in.
    lastAnchor: null,
  };
}
