import type { BatchItem } from "drizzle-orm/batch";
import { insertBoundRows } from "../../db/bound-rows.js";
import { justifications } from "../../db/schema.js";
import { GENESIS, linkHash } from "../../domain/proof/chain.js";
import type { Deps } from "../deps.js";
import { appendToChain } from "./append-to-chain.js";
import { type JustificationRow, justificationContent } from "./justification-content.js";

/** A justification before it is linked onto the tenant's chain. */
export type JustificationDraft = Omit<JustificationRow, "seq" | "prevHash" | "hash" | "tenantId">;

/**
 * Appends justifications to the tenant's chain, together with `alongside`
 * (the message, its delivery chunks, …) in ONE atomic batch: either all of
 * it is written, or none (append-to-chain.ts: no interactive transaction;
 * a concurrent append from another process is retried on the new head).
 */
export function appendJustifications(
  deps: Deps,
  tenantId: string,
  drafts: readonly JustificationDraft[],
  alongside: BatchItem<"sqlite">[] = [],
): Promise<JustificationRow[]> {
  return appendToChain(deps, tenantId, "justifications", async (head) => {
    const rows = link(tenantId, head ?? { seq: 0, hash: GENESIS }, drafts);
    const statements: BatchItem<"sqlite">[] = [
      ...alongside,
      ...insertBoundRows(justifications, rows).map((insert) => deps.db.run(insert)),
    ];
    return { statements, head: rows.at(-1) ?? null, result: rows };
  });
}

/** Numbers the drafts after `head` and links each to the one before. */
function link(
  tenantId: string,
  head: { seq: number; hash: string },
  drafts: readonly JustificationDraft[],
): JustificationRow[] {
  let seq = head.seq;
  let prevHash = head.hash;
  return drafts.map((draft) => {
    seq += 1;
    const row = { ...draft, tenantId, seq, prevHash, hash: "" };
    row.hash = linkHash(justificationContent(row));
    prevHash = row.hash;
    return row;
  });
}
