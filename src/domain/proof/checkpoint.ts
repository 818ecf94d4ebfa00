import { fromBase64, toBase64 } from "./base64.js";
import type { Hash } from "./merkle.js";

/**
 * A log's state as a C2SP `tlog-checkpoint` note text (docs/design.md §6):
 *
 *   <origin>\n<tree size in decimal>\n<base64 root hash>\n
 *
 * The origin names the log: `<PUBLIC_URL host>/grounds/<tenant id>`. The
 * text is then signed as a signed note (signed-note.ts).
 */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Hash;
}

/** The log's origin line for a tenant (docs/design.md §6). */
export function logOrigin(publicUrl: string, tenantId: string): string {
  return `${new URL(publicUrl).host}/grounds/${tenantId}`;
}

/** The installation's note key name: one key signs every tenant's log. */
export function keyName(publicUrl: string): string {
  return `${new URL(publicUrl).host}/grounds`;
}

export function checkpointText(checkpoint: Checkpoint): string {
  return `${checkpoint.origin}\n${checkpoint.size}\n${toBase64(checkpoint.root)}\n`;
}

/** Parses a checkpoint's note text; null when it is not one. Extension lines are ignored. */
export function parseCheckpoint(text: string): Checkpoint | null {
  const lines = text.split("\n");
  if (lines.length < 4 || lines.at(-1) !== "") return null;
  const [origin, size, root] = lines as [string, string, string];
  if (origin.length === 0 || !/^(?:0|[1-9][0-9]*)$/.test(size)) return null;
  const n = Number(size);
  const hash = fromBase64(root, null);
  if (!Number.isSafeInteger(n) || !hash || hash.length !== 32) return null;
  return { origin, size: n, root: hash };
}
