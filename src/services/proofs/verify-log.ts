import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { and, eq, gt } from "drizzle-orm";
import { evidence, justifications, logCheckpoints, logEntries } from "../../db/schema.js";
import { type Checkpoint, logOrigin, parseCheckpoint } from "../../domain/proof/checkpoint.js";
import { entryText, evidenceEntry, justificationEntry } from "../../domain/proof/log-entry.js";
import { equalHashes, Frontier, leafHash } from "../../domain/proof/merkle.js";
import { openNote } from "../../domain/proof/signed-note.js";
import { checkTimestampToken } from "../../domain/proof/timestamp.js";
import type { Deps } from "../deps.js";
import { yieldToOtherWork } from "../yield-to-other-work.js";
import { logSigner, readLogHead } from "./log-store.js";

/**
 * What can be wrong with an entry of the log:
 * - `changed`: its bytes no longer hash to its stored leaf hash;
 * - `missing`: no entry has this index (removed, or moved away);
 * - `unexpected`: an entry beyond the log's head (inserted);
 * - `differs-from-record`: the row the gateway serves (a justification, an
 *   evidence event) no longer says what its entry says, or is at another
 *   index (a changed or reordered row);
 * - `tree-mismatch`: the tree recomputed from the entries does not have the
 *   root a signed checkpoint gives — an entry up to that checkpoint was
 *   changed together with its leaf hash, or entries were reordered;
 *   `index` is then the first entry after the last checkpoint that matched.
 */
export type EntryProblem =
  | "changed"
  | "missing"
  | "unexpected"
  | "differs-from-record"
  | "tree-mismatch";

/** What can be wrong with a stored checkpoint or its timestamp token. */
export type CheckpointProblem =
  | "bad-signature"
  | "malformed"
  | "wrong-origin"
  | "wrong-size"
  | "beyond-log"
  | "token-mismatch"
  | "head-mismatch";

export interface LogReport {
  origin: string;
  /** Entries in the log by its stored head. */
  size: number;
  ok: boolean;
  entriesChecked: number;
  prunedEntries: number;
  checkpointsChecked: number;
  anchorsChecked: number;
  /** The first bad entry, if any. */
  firstBadEntry?: { index: number; problem: EntryProblem; checkpointSize?: number };
  /** The first bad checkpoint, if any. */
  firstBadCheckpoint?: { size: number; problem: CheckpointProblem };
}

const PAGE = 2000;

/**
 * Verifies a tenant's Merkle log (docs/design.md §6, "Integrity"): the tree is
 * recomputed from the stored entries, in index order, and compared with
 * every stored checkpoint; each checkpoint's signature is checked with the
 * installation's key and each timestamp token's imprint against its
 * checkpoint. All checkpoints coming from one recomputed sequence of leaves
 * is what makes successive checkpoints consistent. Entries and checkpoints
 * are read in pages: memory stays flat whatever the log's size.
 */
export async function verifyLog(deps: Deps, tenantId: string): Promise<LogReport> {
  const origin = logOrigin(deps.publicUrl, tenantId);
  const head = await readLogHead(deps, tenantId);
  const signer = await logSigner(deps);
  const report: LogReport = {
    origin,
    size: head.size,
    ok: true,
    entriesChecked: 0,
    prunedEntries: 0,
    checkpointsChecked: 0,
    anchorsChecked: 0,
  };
  const badEntry = (index: number, problem: EntryProblem, checkpointSize?: number) => {
    report.firstBadEntry ??= { index, problem, ...(checkpointSize ? { checkpointSize } : {}) };
  };
  const badCheckpoint = (size: number, problem: CheckpointProblem) => {
    report.firstBadCheckpoint ??= { size, problem };
  };

  const checkpoints = checkpointPages(deps, tenantId);
  let next = await checkpoints.next();
  const frontier = new Frontier();
  let lastGood = 0;

  /** Compares every checkpoint of the size the tree now has; skips past checkpoints it cannot reach. */
  const compareCheckpoints = async () => {
    while (!next.done && next.value.size <= frontier.size) {
      const stored = next.value;
      report.checkpointsChecked += 1;
      const parsed = await checkpointOf(stored.note, signer, origin, stored.size);
      if (typeof parsed === "string") badCheckpoint(stored.size, parsed);
      else if (stored.size === frontier.size) {
        if (equalHashes(parsed.root, frontier.root())) lastGood = stored.size;
        else badEntry(lastGood, "tree-mismatch", stored.size);
        if (stored.anchor !== null) {
          report.anchorsChecked += 1;
          const token = checkTimestampToken(
            stored.anchor,
            utf8ToBytes(checkpointTextOf(stored.note)),
          );
          if (!token.ok) badCheckpoint(stored.size, "token-mismatch");
        }
      }
      next = await checkpoints.next();
    }
  };

  for (let after = -1; ; ) {
    const page = await deps.db
      .select({
        idx: logEntries.idx,
        kind: logEntries.kind,
        ref: logEntries.ref,
        leaf: logEntries.leaf,
        content: logEntries.content,
        justification: justifications,
        evidence: evidence,
      })
      .from(logEntries)
      .leftJoin(
        justifications,
        and(eq(logEntries.kind, "justification"), eq(justifications.id, logEntries.ref)),
      )
      .leftJoin(evidence, and(eq(logEntries.kind, "evidence"), eq(evidence.id, logEntries.ref)))
      .where(and(eq(logEntries.tenantId, tenantId), gt(logEntries.idx, after)))
      .orderBy(logEntries.idx)
      .limit(PAGE);
    for (const row of page) {
      if (row.idx >= head.size) {
        badEntry(row.idx, "unexpected");
        break;
      }
      if (row.idx !== frontier.size) {
        // Entries are numbered without gaps: the expected one is gone. The
        // tree cannot be recomputed past it.
        badEntry(frontier.size, "missing");
        break;
      }
      report.entriesChecked += 1;
      if (row.content === null) {
        report.prunedEntries += 1;
      } else {
        if (bytesToHex(leafHash(utf8ToBytes(row.content))) !== row.leaf) {
          badEntry(row.idx, "changed");
        }
        const record = recordText(row);
        if (record !== undefined && record !== row.content)
          badEntry(row.idx, "differs-from-record");
      }
      frontier.append(hexLeaf(row.leaf));
      await compareCheckpoints();
    }
    const last = page.at(-1);
    if (!last || page.length < PAGE || report.firstBadEntry?.problem === "missing") break;
    after = last.idx;
    await yieldToOtherWork();
  }
  if (report.firstBadEntry?.problem !== "missing" && frontier.size < head.size) {
    badEntry(frontier.size, "missing");
  }
  // Checkpoints beyond what the entries give: the log was cut short.
  while (!next.done) {
    report.checkpointsChecked += 1;
    badCheckpoint(next.value.size, "beyond-log");
    next = await checkpoints.next();
  }
  if (frontier.size === head.size && !equalHashes(frontier.root(), head.frontier.root())) {
    badCheckpoint(head.size, "head-mismatch");
  }
  report.ok = !report.firstBadEntry && !report.firstBadCheckpoint;
  return report;
}

/** What the row an entry records says as an entry, or undefined when there is no such row to compare. */
function recordText(row: {
  idx: number;
  kind: string;
  justification: typeof justifications.$inferSelect | null;
  evidence: typeof evidence.$inferSelect | null;
}): string | undefined {
  if (row.kind === "justification" && row.justification) {
    if (row.justification.leafIndex !== row.idx) return "";
    return entryText(justificationEntry(row.justification));
  }
  if (row.kind === "evidence" && row.evidence) {
    if (row.evidence.leafIndex !== row.idx) return "";
    return entryText(evidenceEntry(row.evidence));
  }
  return undefined;
}

function hexLeaf(hex: string): Uint8Array {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** The note text of a signed note (before its signature lines). */
function checkpointTextOf(note: string): string {
  const at = note.lastIndexOf("\n\n");
  return at < 0 ? note : note.slice(0, at + 1);
}

async function checkpointOf(
  note: string,
  signer: Awaited<ReturnType<typeof logSigner>>,
  origin: string,
  size: number,
): Promise<Checkpoint | CheckpointProblem> {
  const text = await openNote(note, signer);
  if (text === null) return "bad-signature";
  const checkpoint = parseCheckpoint(text);
  if (!checkpoint) return "malformed";
  if (checkpoint.origin !== origin) return "wrong-origin";
  if (checkpoint.size !== size) return "wrong-size";
  return checkpoint;
}

async function* checkpointPages(deps: Deps, tenantId: string) {
  for (let after = -1; ; ) {
    const page = await deps.db
      .select({
        size: logCheckpoints.size,
        note: logCheckpoints.note,
        anchor: logCheckpoints.anchor,
      })
      .from(logCheckpoints)
      .where(and(eq(logCheckpoints.tenantId, tenantId), gt(logCheckpoints.size, after)))
      .orderBy(logCheckpoints.size)
      .limit(PAGE);
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < PAGE) return;
    after = last.size;
  }
}
