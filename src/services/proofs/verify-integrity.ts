import type { Deps } from "../deps.js";
import { type ChainsReport, verifyChains } from "./verify-chains.js";
import { type LogReport, verifyLog } from "./verify-log.js";

export interface IntegrityReport extends ChainsReport {
  /** The tenant's Merkle log: entries, checkpoints, signatures and tokens (docs/design.md §6). */
  log: LogReport;
}

/**
 * Verifies all the tenant's proofs (docs/design.md §6, "Integrity"): the Merkle log
 * (verify-log.ts) and the per-row hash chains its first entry commits to
 * for databases written before it (verify-chains.ts).
 */
export async function verifyIntegrity(deps: Deps, tenantId: string): Promise<IntegrityReport> {
  const chains = await verifyChains(deps, tenantId);
  const log = await verifyLog(deps, tenantId);
  return { ...chains, ok: chains.ok && log.ok, log };
}
