import type { Receipt } from "./receipt.js";

/**
 * A person's proof pack (docs/design.md §5 `GET /v1/subjects/{email}/proofs`): what
 * a controller hands a regulator who asks "show me why you mailed this
 * person" — every receipt of the subject's evidence and justifications
 * (each carrying the checkpoint and timestamp token it rests on), the
 * verifier key, and a short readable summary. `grounds verify-receipt`
 * checks every receipt in it.
 */
export const PROOF_PACK_FORMAT = "grounds-proof-pack/1";

export interface ProofPack {
  format: typeof PROOF_PACK_FORMAT;
  generatedAt: string;
  tenant: { id: string; legalName: string };
  /** The subject as its keyed hash (what the entries commit to), and the address asked about. */
  subject: { email: string; key: string };
  /** The log's verifier key (C2SP note-verifier form). */
  verifierKey: string;
  /** A readable account of what follows, one line per record. */
  summary: string[];
  receipts: { kind: "evidence" | "justification"; id: string; receipt: Receipt }[];
  /** Records with no receipt (pruned by retention, or from before the log), by id. */
  withoutReceipt: { kind: "evidence" | "justification"; id: string; why: string }[];
}
