import { and, eq, exists, isNull, notExists } from "drizzle-orm";
import { chainHeads, evidence, tenants } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { appendEvidence } from "./append-evidence.js";

/**
 * After the upgrade that brought the evidence chain: chains, for every tenant
 * that still holds them, the events stored before it (docs/proof-log.md,
 * "Rows from before the chain") — at start on Node, by the daily Cron
 * Trigger on Workers — so that `GET /v1/integrity` does not wait for the
 * tenant's next evidence write to cover them. The adoption is recorded and
 * disclosed as any other. Only tenants whose evidence chain has not begun:
 * an event without a place in a chain that has begun was written around it,
 * and stays reported as such. Answers the tenants whose events it chained.
 */
export async function adoptUnchainedEvidence(deps: Deps): Promise<string[]> {
  // Tenant by tenant (a small table), each looked up in the (tenant, seq)
  // index: it runs at every start, and must not scan every event held.
  const tenantIds = await deps.db
    .select({ tenantId: tenants.id })
    .from(tenants)
    .where(
      and(
        notExists(
          deps.db
            .select({ tenantId: chainHeads.tenantId })
            .from(chainHeads)
            .where(and(eq(chainHeads.tenantId, tenants.id), eq(chainHeads.chain, "evidence"))),
        ),
        exists(
          deps.db
            .select({ id: evidence.id })
            .from(evidence)
            .where(and(eq(evidence.tenantId, tenants.id), isNull(evidence.seq))),
        ),
      ),
    );
  for (const { tenantId } of tenantIds) {
    // An append of no events: the append chains what is unchained first.
    await appendEvidence(deps, tenantId, () => ({ evidence: [], result: undefined }));
  }
  return tenantIds.map((t) => t.tenantId);
}
