import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { insertJsonRows } from "../../db/json-rows.js";
import { chainHeads, justifications } from "../../db/schema.js";
import { GENESIS, linkHash } from "../../domain/proof/chain.js";
import type { Deps } from "../deps.js";
import { type JustificationRow, justificationContent } from "./justification-content.js";

/** A justification before it is linked onto the tenant's chain. */
export type JustificationDraft = Omit<JustificationRow, "seq" | "prevHash" | "hash" | "tenantId">;

/** Rows per INSERT (one JSON parameter each: the statement's size stays constant). */
const ROWS_PER_INSERT = 1000;
const ATTEMPTS = 8;

/** Appends of one tenant in this process run one after another. */
const queues = new WeakMap<object, Map<string, Promise<unknown>>>();

function serialised<T>(deps: Deps, tenantId: string, work: () => Promise<T>): Promise<T> {
  let byTenant = queues.get(deps.db);
  if (!byTenant) {
    byTenant = new Map();
    queues.set(deps.db, byTenant);
  }
  const previous = byTenant.get(tenantId) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.catch(() => undefined);
  byTenant.set(tenantId, settled);
  void settled.then(() => {
    if (byTenant.get(tenantId) === settled) byTenant.delete(tenantId);
  });
  return next;
}

function isChainCollision(error: unknown): boolean {
  const text = `${String(error)} ${String((error as { cause?: unknown })?.cause ?? "")}`;
  return /UNIQUE constraint failed: justifications\.tenant_id, justifications\.seq/.test(text);
}

/**
 * Appends justifications to the tenant's chain, together with `alongside`
 * (the message, its delivery chunks, …) in ONE atomic batch: either all of
 * it is written, or none.
 *
 * No interactive transaction: on an embedded libSQL file, a writer that waits
 * for the lock blocks the only thread the open transaction needs. Instead the
 * head is read, the rows linked, and the batch written; `(tenant, seq)` is
 * unique, so if another process appended in between, the batch fails whole
 * and is retried on the new head. Within this process appends of a tenant
 * are queued, so they never collide.
 */
export function appendJustifications(
  deps: Deps,
  tenantId: string,
  drafts: readonly JustificationDraft[],
  alongside: BatchItem<"sqlite">[] = [],
): Promise<JustificationRow[]> {
  return serialised(deps, tenantId, async () => {
    for (let attempt = 1; ; attempt++) {
      const [head] = await deps.db
        .select()
        .from(chainHeads)
        .where(and(eq(chainHeads.tenantId, tenantId), eq(chainHeads.chain, "justifications")));
      const rows = link(tenantId, head ?? { seq: 0, hash: GENESIS }, drafts);
      const last = rows.at(-1);
      const statements: BatchItem<"sqlite">[] = [...alongside];
      for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
        statements.push(
          deps.db.run(insertJsonRows(justifications, rows.slice(start, start + ROWS_PER_INSERT))),
        );
      }
      if (last) {
        statements.push(
          deps.db
            .insert(chainHeads)
            .values({ tenantId, chain: "justifications", seq: last.seq, hash: last.hash })
            .onConflictDoUpdate({
              target: [chainHeads.tenantId, chainHeads.chain],
              set: { seq: last.seq, hash: last.hash },
            }),
        );
      }
      const [first, ...rest] = statements;
      if (!first) return rows;
      try {
        await deps.db.batch([first, ...rest]);
        return rows;
      } catch (error) {
        if (!isChainCollision(error) || attempt >= ATTEMPTS) throw error;
      }
    }
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
