import { and, eq } from "drizzle-orm";
import { evidence, justifications } from "../../db/schema.js";
import { toBase64 } from "../../domain/proof/base64.js";
import { parseCheckpoint } from "../../domain/proof/checkpoint.js";
import { RECEIPT_FORMAT, type Receipt } from "../../domain/proof/receipt.js";
import { openNote } from "../../domain/proof/signed-note.js";
import type { Deps } from "../deps.js";
import { checkpointCovering, entryAt, inclusionProofOf, logSigner } from "./log-store.js";

export type ReceiptAnswer = { receipt: Receipt } | { missing: "record" | "not-in-log" | "pruned" };

/**
 * The receipt of a justification or evidence event (docs/design.md §6): its entry,
 * the inclusion proof at the checkpoint it rests on (the earliest anchored
 * one covering it, else the latest), and that checkpoint's timestamp token.
 */
export async function receiptOf(
  deps: Deps,
  tenantId: string,
  kind: "justification" | "evidence",
  id: string,
): Promise<ReceiptAnswer> {
  const table = kind === "justification" ? justifications : evidence;
  const [row] = await deps.db
    .select({ leafIndex: table.leafIndex })
    .from(table)
    .where(and(eq(table.tenantId, tenantId), eq(table.id, id)));
  if (!row) return { missing: "record" };
  if (row.leafIndex === null) return { missing: "not-in-log" };
  return receiptAt(deps, tenantId, row.leafIndex);
}

/** The receipt of the entry at `index` of a tenant's log. */
export async function receiptAt(
  deps: Deps,
  tenantId: string,
  index: number,
): Promise<ReceiptAnswer> {
  const entry = await entryAt(deps, tenantId, index);
  if (!entry) return { missing: "not-in-log" };
  if (entry.text === null) return { missing: "pruned" };
  const stored = await checkpointCovering(deps, tenantId, index);
  const text = stored ? await openNote(stored.note, await logSigner(deps)) : null;
  const checkpoint = text === null ? null : parseCheckpoint(text);
  if (!stored || !checkpoint) return { missing: "not-in-log" };
  const inclusion = await inclusionProofOf(deps, tenantId, index, checkpoint.size);
  return {
    receipt: {
      format: RECEIPT_FORMAT,
      entry: JSON.parse(entry.text),
      leafIndex: index,
      treeSize: checkpoint.size,
      inclusion: inclusion.map(toBase64),
      checkpoint: stored.note,
      ...(stored.anchor ? { timestamp: stored.anchor } : {}),
    },
  };
}
