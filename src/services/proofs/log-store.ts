import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { and, between, desc, eq, gte, isNotNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { insertBoundRows } from "../../db/bound-rows.js";
import {
  type LogEntryKind,
  logCheckpoints,
  logEntries,
  logHeads,
  logNodes,
} from "../../db/schema.js";
import { checkpointText, keyName, logOrigin } from "../../domain/proof/checkpoint.js";
import {
  consistencyRanges,
  Frontier,
  type Hash,
  inclusionRanges,
  type LeafRange,
  leafHash,
  nodeHash,
  rootOf,
} from "../../domain/proof/merkle.js";
import { type NoteSigner, noteSignerFromSeed, signNote } from "../../domain/proof/signed-note.js";
import type { Deps } from "../deps.js";

/**
 * The storage of each tenant's Merkle log (docs/design.md §6, docs/proof-log.md):
 * entries (`log_entries`), the head (`log_heads`: size and frontier), the
 * stored interior nodes (`log_nodes`) and the signed checkpoints
 * (`log_checkpoints`). Appending is planned here and written by the caller
 * in the same atomic batch as the rows the entries record
 * (append-to-chain.ts), so an entry and its row exist together or not at all.
 */

/** An entry to append: what it records and its bytes (JCS text). */
export interface LogWrite {
  kind: LogEntryKind;
  ref: string | null;
  text: string;
}

/** Where a tenant's log ends. */
export interface LogHead {
  size: number;
  frontier: Frontier;
}

/**
 * The heights whose complete subtrees are stored: any subtree hash a proof
 * needs is then folded from at most 2^8 stored hashes (leaves or nodes).
 */
const STORED_HEIGHTS = [8, 16, 24, 32];
const TILE = 8;

/** 5,000 × 6 columns = 30,000 parameters, under SQLite's 32,766. */
const ENTRIES_PER_STATEMENT = 5000;

const signers = new WeakMap<Deps["logSeed"], Map<string, Promise<NoteSigner>>>();

/** The installation's note key (docs/design.md §6: derived from GROUNDS_SECRET), named after PUBLIC_URL's host. */
export function logSigner(deps: Pick<Deps, "logSeed" | "publicUrl">): Promise<NoteSigner> {
  let byName = signers.get(deps.logSeed);
  if (!byName) {
    byName = new Map();
    signers.set(deps.logSeed, byName);
  }
  const name = keyName(deps.publicUrl);
  let signer = byName.get(name);
  if (!signer) {
    signer = noteSignerFromSeed(name, deps.logSeed);
    byName.set(name, signer);
  }
  return signer;
}

export async function readLogHead(deps: Deps, tenantId: string): Promise<LogHead> {
  const [stored] = await deps.db
    .select({ size: logHeads.size, frontier: logHeads.frontier })
    .from(logHeads)
    .where(eq(logHeads.tenantId, tenantId));
  if (!stored) return { size: 0, frontier: new Frontier() };
  return {
    size: stored.size,
    frontier: new Frontier(
      stored.size,
      stored.frontier.map((hex) => hexToBytes(hex)),
    ),
  };
}

/** What appending some entries writes, and the log's state after it. */
export interface LogAppend {
  statements: BatchItem<"sqlite">[];
  size: number;
  root: Hash;
  checkpoint: string;
  /** Each entry's leaf hash, in order. */
  leaves: Hash[];
}

/**
 * Plans appending `writes` after `head`: the entry rows, the completed
 * stored nodes, the moved head and the new signed checkpoint (a checkpoint
 * after each append, docs/design.md §6). The frontier in `head` is advanced.
 */
export async function planLogAppend(
  deps: Deps,
  tenantId: string,
  head: LogHead,
  writes: readonly LogWrite[],
): Promise<LogAppend> {
  const start = head.size;
  const frontier = head.frontier;
  const leaves: Hash[] = [];
  const rows: (typeof logEntries.$inferInsert)[] = [];
  const nodes: (typeof logNodes.$inferInsert)[] = [];
  for (const write of writes) {
    const leaf = leafHash(utf8ToBytes(write.text));
    leaves.push(leaf);
    rows.push({
      tenantId,
      idx: frontier.size,
      kind: write.kind,
      ref: write.ref,
      leaf: bytesToHex(leaf),
      content: write.text,
    });
    frontier.append(leaf, (height, root) => {
      if (height % TILE === 0) {
        // The subtree ends at the new leaf, so it is number (size + 1) / 2^height - 1.
        const idx = (frontier.size + 1) / 2 ** height - 1;
        nodes.push({ tenantId, level: height, idx, hash: bytesToHex(root) });
      }
    });
  }
  const size = start + writes.length;
  const root = frontier.root();
  const signer = await logSigner(deps);
  const checkpoint = await signNote(
    checkpointText({ origin: logOrigin(deps.publicUrl, tenantId), size, root }),
    signer,
  );
  const now = deps.clock();
  // Entries are narrow (6 columns): 5,000 per statement, so a send's
  // statements stay ⌈N/1000⌉ (its justifications) + ⌈N/5000⌉ + a constant.
  const statements: BatchItem<"sqlite">[] = insertBoundRows(
    logEntries,
    rows,
    ENTRIES_PER_STATEMENT,
  ).map((insert) => deps.db.run(insert));
  if (nodes.length > 0) statements.push(deps.db.insert(logNodes).values(nodes));
  const frontierHex = frontier.nodes.map((node) => bytesToHex(node));
  statements.push(
    deps.db
      .insert(logHeads)
      .values({ tenantId, size, frontier: frontierHex, updatedAt: now })
      .onConflictDoUpdate({
        target: logHeads.tenantId,
        set: { size, frontier: frontierHex, updatedAt: now },
      }),
    deps.db.insert(logCheckpoints).values({ tenantId, size, note: checkpoint, createdAt: now }),
  );
  return { statements, size, root, checkpoint, leaves };
}

/** Whether a write failed because another writer appended to the same log first. */
export function isLogCollision(error: unknown): boolean {
  return /UNIQUE constraint failed: log_(?:entries|checkpoints)\.tenant_id, log_(?:entries|checkpoints)\.(?:idx|size)/.test(
    `${String(error)} ${String((error as { cause?: unknown })?.cause ?? "")}`,
  );
}

/** MTH of the leaves [start, end) of a tenant's log (which must hold them). */
export async function rangeHash(deps: Deps, tenantId: string, range: LeafRange): Promise<Hash> {
  // Decompose into aligned perfect subtrees, largest first (the RFC 9162
  // split of any range a proof asks for is aligned this way), then fold
  // them from the right as MTH does.
  const parts: Hash[] = [];
  let start = range.start;
  while (start < range.end) {
    let height = 0;
    while (start % 2 ** (height + 1) === 0 && start + 2 ** (height + 1) <= range.end) height += 1;
    parts.push(await perfectHash(deps, tenantId, start, height));
    start += 2 ** height;
  }
  let hash: Hash | undefined;
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as Hash;
    hash = hash ? nodeHash(part, hash) : part;
  }
  if (!hash) throw new RangeError("an empty range has no subtree hash");
  return hash;
}

/** The root of the perfect subtree of 2^height leaves starting at `start`. */
async function perfectHash(
  deps: Deps,
  tenantId: string,
  start: number,
  height: number,
): Promise<Hash> {
  const stored = STORED_HEIGHTS.filter((h) => h <= height).at(-1);
  if (stored === undefined) {
    const rows = await deps.db
      .select({ leaf: logEntries.leaf })
      .from(logEntries)
      .where(
        and(
          eq(logEntries.tenantId, tenantId),
          between(logEntries.idx, start, start + 2 ** height - 1),
        ),
      )
      .orderBy(logEntries.idx);
    if (rows.length !== 2 ** height) throw new Error("the log is missing entries");
    return rootOf(rows.map((row) => hexToBytes(row.leaf)));
  }
  const first = start / 2 ** stored;
  const count = 2 ** (height - stored);
  const rows = await deps.db
    .select({ hash: logNodes.hash })
    .from(logNodes)
    .where(
      and(
        eq(logNodes.tenantId, tenantId),
        eq(logNodes.level, stored),
        between(logNodes.idx, first, first + count - 1),
      ),
    )
    .orderBy(logNodes.idx);
  if (rows.length !== count) throw new Error("the log is missing stored nodes");
  // `count` is a power of two: folding equal perfect subtrees is their MTH.
  return rootOf(rows.map((row) => hexToBytes(row.hash)));
}

/** The inclusion proof of entry `index` in the tenant's tree of `size` (RFC 9162 §2.1.3). */
export async function inclusionProofOf(
  deps: Deps,
  tenantId: string,
  index: number,
  size: number,
): Promise<Hash[]> {
  const proof: Hash[] = [];
  for (const range of inclusionRanges(index, size)) {
    proof.push(await rangeHash(deps, tenantId, range));
  }
  return proof;
}

/** The consistency proof between the tenant's trees of `from` and `to` (RFC 9162 §2.1.4). */
export async function consistencyProofOf(
  deps: Deps,
  tenantId: string,
  from: number,
  to: number,
): Promise<Hash[]> {
  const proof: Hash[] = [];
  for (const range of consistencyRanges(from, to)) {
    proof.push(await rangeHash(deps, tenantId, range));
  }
  return proof;
}

export interface StoredCheckpoint {
  size: number;
  note: string;
  anchor: string | null;
  anchoredAt: number | null;
}

const checkpointColumns = {
  size: logCheckpoints.size,
  note: logCheckpoints.note,
  anchor: logCheckpoints.anchor,
  anchoredAt: logCheckpoints.anchoredAt,
};

export async function latestCheckpoint(
  deps: Deps,
  tenantId: string,
): Promise<StoredCheckpoint | null> {
  const [row] = await deps.db
    .select(checkpointColumns)
    .from(logCheckpoints)
    .where(eq(logCheckpoints.tenantId, tenantId))
    .orderBy(desc(logCheckpoints.size))
    .limit(1);
  return row ?? null;
}

/**
 * The checkpoint a receipt of entry `index` rests on: the earliest anchored
 * checkpoint covering it when there is one (docs/design.md §6: the receipt names the
 * anchored checkpoint), else the latest.
 */
export async function checkpointCovering(
  deps: Deps,
  tenantId: string,
  index: number,
): Promise<StoredCheckpoint | null> {
  const [anchored] = await deps.db
    .select(checkpointColumns)
    .from(logCheckpoints)
    .where(
      and(
        eq(logCheckpoints.tenantId, tenantId),
        gte(logCheckpoints.size, index + 1),
        isNotNull(logCheckpoints.anchor),
      ),
    )
    .orderBy(logCheckpoints.size)
    .limit(1);
  if (anchored) return anchored;
  const latest = await latestCheckpoint(deps, tenantId);
  return latest && latest.size > index ? latest : null;
}

export async function checkpointAt(
  deps: Deps,
  tenantId: string,
  size: number,
): Promise<StoredCheckpoint | null> {
  const [row] = await deps.db
    .select(checkpointColumns)
    .from(logCheckpoints)
    .where(and(eq(logCheckpoints.tenantId, tenantId), eq(logCheckpoints.size, size)));
  return row ?? null;
}

/** The stored entry at `index`: its bytes (null when pruned) and leaf hash. */
export async function entryAt(
  deps: Deps,
  tenantId: string,
  index: number,
): Promise<{ kind: LogEntryKind; text: string | null; leaf: string } | null> {
  const [row] = await deps.db
    .select({ kind: logEntries.kind, text: logEntries.content, leaf: logEntries.leaf })
    .from(logEntries)
    .where(and(eq(logEntries.tenantId, tenantId), eq(logEntries.idx, index)));
  return row ?? null;
}
