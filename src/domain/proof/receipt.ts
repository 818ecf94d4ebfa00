import { utf8ToBytes } from "@noble/hashes/utils.js";
import { fromBase64 } from "./base64.js";
import { type Checkpoint, parseCheckpoint } from "./checkpoint.js";
import { entryText } from "./log-entry.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import { type NoteVerifier, openNote } from "./signed-note.js";
import { checkTimestampToken, verifyTokenSignature } from "./timestamp.js";

/**
 * A receipt (docs/design.md §6, docs/proof-log.md "Receipts"): everything needed to
 * check, offline and with the log's verifier key alone, that one entry is in
 * a tenant's log at a signed (and, when anchored, time-stamped) checkpoint.
 * It carries one entry and the hashes of its proof path: nothing about any
 * other entry but hashes.
 */
export interface Receipt {
  /** The format: "grounds-receipt/1". */
  format: typeof RECEIPT_FORMAT;
  /** The entry's JSON content; its bytes are its RFC 8785 (JCS) serialisation. */
  entry: unknown;
  leafIndex: number;
  treeSize: number;
  /** The inclusion proof (RFC 9162 §2.1.3), base64 hashes from the leaf up. */
  inclusion: string[];
  /** The checkpoint of `treeSize` as a C2SP signed note. */
  checkpoint: string;
  /** The RFC 3161 token (base64 DER) over SHA-256 of the checkpoint's note text, when anchored. */
  timestamp?: string;
}

export const RECEIPT_FORMAT = "grounds-receipt/1";

export interface ReceiptCheck {
  ok: boolean;
  /** What failed, in the order checked; empty when `ok`. */
  problems: string[];
  checkpoint?: Checkpoint;
  /** When the TSA time-stamped the checkpoint (its token's genTime), if anchored and valid. */
  anchoredAt?: string;
}

/**
 * Verifies a receipt (docs/proof-log.md, "Verifying a receipt"):
 * 1. the checkpoint note carries a valid Ed25519 signature by the verifier key;
 * 2. its text is a checkpoint of `treeSize` leaves;
 * 3. SHA-256(0x00 ‖ JCS(entry)) is leaf `leafIndex` of the tree whose root the
 *    checkpoint gives, by the inclusion proof (RFC 9162 §2.1.3.2);
 * 4. a timestamp, if present, is an RFC 3161 token over SHA-256 of the
 *    checkpoint's note text, with a valid signature by the certificate it carries.
 */
export async function verifyReceipt(
  receipt: Receipt,
  verifier: NoteVerifier,
  origin?: string,
): Promise<ReceiptCheck> {
  const problems: string[] = [];
  if (receipt.format !== RECEIPT_FORMAT) problems.push(`not a ${RECEIPT_FORMAT} receipt`);
  const text =
    typeof receipt.checkpoint === "string" ? await openNote(receipt.checkpoint, verifier) : null;
  if (text === null) {
    problems.push("the checkpoint is not signed by this key");
    return { ok: false, problems };
  }
  const checkpoint = parseCheckpoint(text);
  if (!checkpoint) {
    problems.push("the signed note is not a checkpoint");
    return { ok: false, problems };
  }
  if (origin !== undefined && checkpoint.origin !== origin) {
    problems.push(`the checkpoint is of another log (${checkpoint.origin})`);
  }
  if (checkpoint.size !== receipt.treeSize) problems.push("treeSize is not the checkpoint's size");
  const proof = Array.isArray(receipt.inclusion)
    ? receipt.inclusion.map((hash) => (typeof hash === "string" ? fromBase64(hash, null) : null))
    : [null];
  let bytes: Uint8Array | null = null;
  try {
    bytes = utf8ToBytes(entryText(receipt.entry));
  } catch {
    problems.push("the entry is not JSON data");
  }
  if (proof.some((hash) => hash === null || hash.length !== 32)) {
    problems.push("the inclusion proof is malformed");
  } else if (
    bytes &&
    !verifyInclusion(
      receipt.leafIndex,
      checkpoint.size,
      leafHash(bytes),
      proof.filter((hash) => hash !== null),
      checkpoint.root,
    )
  ) {
    problems.push("the entry is not at leafIndex in the checkpoint's tree");
  }
  let anchoredAt: string | undefined;
  if (receipt.timestamp !== undefined) {
    const token = checkTimestampToken(receipt.timestamp, utf8ToBytes(text));
    if (!token.ok)
      problems.push(`the timestamp token does not anchor this checkpoint (${token.problem})`);
    else if (!(await verifyTokenSignature(fromBase64(receipt.timestamp)))) {
      problems.push("the timestamp token's signature does not verify");
    } else anchoredAt = token.genTime;
  }
  return {
    ok: problems.length === 0,
    problems,
    checkpoint,
    ...(anchoredAt ? { anchoredAt } : {}),
  };
}
