import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/database.js";
import { chainHeads, justifications } from "../../db/schema.js";
import { GENESIS, linkHash } from "../../domain/proof/chain.js";
import { type JustificationRow, justificationContent } from "./justification-content.js";

/** A transaction of the gateway's database. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** A justification before it is linked onto the tenant's chain. */
export type JustificationDraft = Omit<JustificationRow, "seq" | "prevHash" | "hash" | "tenantId">;

/** Rows per INSERT: ~21 columns each stays far below SQLite's parameter limit. */
const ROWS_PER_INSERT = 1000;

/**
 * Appends justifications to the tenant's chain inside `tx`, which must be a
 * write transaction: the head is read and moved in it, so concurrent sends
 * of one tenant queue instead of forking the chain.
 */
export async function appendJustifications(
  tx: Transaction,
  tenantId: string,
  drafts: readonly JustificationDraft[],
): Promise<JustificationRow[]> {
  if (drafts.length === 0) return [];
  const where = and(eq(chainHeads.tenantId, tenantId), eq(chainHeads.chain, "justifications"));
  const [head] = await tx.select().from(chainHeads).where(where);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS;
  const rows: JustificationRow[] = drafts.map((draft) => {
    seq += 1;
    const row = { ...draft, tenantId, seq, prevHash, hash: "" };
    row.hash = linkHash(justificationContent(row));
    prevHash = row.hash;
    return row;
  });
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    await tx.insert(justifications).values(rows.slice(start, start + ROWS_PER_INSERT));
  }
  await tx
    .insert(chainHeads)
    .values({ tenantId, chain: "justifications", seq, hash: prevHash })
    .onConflictDoUpdate({
      target: [chainHeads.tenantId, chainHeads.chain],
      set: { seq, hash: prevHash },
    });
  return rows;
}
