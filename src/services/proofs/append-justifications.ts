import type { BatchItem } from "drizzle-orm/batch";
import { insertBoundRows } from "../../db/bound-rows.js";
import { justifications } from "../../db/schema.js";
import { GENESIS, linkHash } from "../../domain/proof/chain.js";
import { entryText, justificationEntry } from "../../domain/proof/log-entry.js";
import type { Deps } from "../deps.js";
import { appendToChain } from "./append-to-chain.js";
import { type JustificationRow, justificationContent } from "./justification-content.js";

/** A justification before it is linked onto the tenant's chain. */
export type JustificationDraft = Omit<
  JustificationRow,
  "seq" | "prevHash" | "hash" | "tenantId" | "leafIndex"
>;

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
  return appendToChain(deps, tenantId, "justifications", async (head, log) => {
    const rows = link(tenantId, head ?? { seq: 0, hash: GENESIS }, log.size, drafts);
    const statements: BatchItem<"sqlite">[] = [
      ...alongside,
      ...insertBoundRows(justifications, rows).map((insert) => deps.db.run(insert)),
    ];
    // Each justification is also an entry of the tenant's Merkle log, in the same order.
    const entries = rows.map((row) => ({
      kind: "justification" as const,
      ref: row.id,
      text: entryText(justificationEntry(row)),
    }));
    return { statements, head: rows.at(-1) ?? null, result: rows, entries };
  });
}

/** Numbers the drafts after `head` and links each to the one before. */
function link(
  tenantId: string,
  head: { seq: number; hash: string },
  firstLeaf: number,
  drafts: readonly JustificationDraft[],
): JustificationRow[] {
  let seq = head.seq;
  let prevHash = head.hash;
  return drafts.map((draft, i) => {
    seq += 1;
    const row = { ...draft, tenantId, seq, prevHash, hash: "", leafIndex: firstLeaf + i };
    row.hash = linkHash(justificationContent(row));
    prevHash = row.hash;
    return row;
  });
}
