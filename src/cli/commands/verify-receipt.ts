import { readFile } from "node:fs/promises";
import { PROOF_PACK_FORMAT, type ProofPack } from "../../domain/proof/proof-pack.js";
import { type Receipt, type ReceiptCheck, verifyReceipt } from "../../domain/proof/receipt.js";
import { parseVerifierKey } from "../../domain/proof/signed-note.js";
import { type Command, EXIT, parseOptions, RefusedError, UsageError } from "../command.js";
import { printJson } from "../output.js";

/**
 * Verifies a receipt, or a person's proof pack (every receipt in it),
 * offline with the log's verifier key alone: docs/proof-log.md, "Verifying a
 * receipt". Needs no database and no secret.
 */
export const verifyReceiptCommand: Command = {
  name: "verify-receipt",
  summary: "Verify a receipt or a proof pack offline with the log's verifier key",
  help: `Usage: grounds verify-receipt FILE --key VKEY [--json]

FILE is a receipt (GET /v1/justifications/{id}/receipt, GET /v1/evidence/{id}/receipt)
or a proof pack (GET /v1/subjects/{email}/proofs). VKEY is the log's verifier
key as GET /v1/log/key gives it: <name>+<hex key id>+<base64 key>.

Checks the checkpoint's Ed25519 signature, the entry's inclusion in the tree
the checkpoint signs (RFC 9162), and the RFC 3161 timestamp token, if any:
its imprint is SHA-256 of the checkpoint's note text and its signature
verifies with the certificate it carries. Whether that authority is one to
trust is for you to decide (e.g. openssl ts -verify -CAfile).

Exit codes: 0 everything verifies, 1 something does not (named), 2 usage error.

Example:
  grounds verify-receipt receipt.json --key "grounds.example/grounds+1a2b3c4d+AQ…"`,

  async run(args, context) {
    const [file, ...rest] = args;
    if (file === undefined || file.startsWith("-")) throw new UsageError("missing FILE");
    const options = parseOptions(rest, {
      key: { type: "string" },
      json: { type: "boolean" },
    });
    if (options.key === undefined) throw new UsageError("missing --key VKEY");
    const verifier = parseVerifierKey(options.key);
    if (!verifier) throw new UsageError("--key is not a note verifier key (name+id+key)");
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, "utf8"));
    } catch {
      throw new RefusedError("The file cannot be read as JSON.");
    }
    const receipts: { label: string; receipt: Receipt }[] = [];
    if (isPack(value)) {
      for (const item of value.receipts) {
        receipts.push({ label: `${item.kind} ${item.id}`, receipt: item.receipt });
      }
    } else {
      receipts.push({ label: "receipt", receipt: value as Receipt });
    }
    const results: { label: string; check: ReceiptCheck }[] = [];
    for (const { label, receipt } of receipts) {
      results.push({ label, check: await verifyReceipt(receipt, verifier) });
    }
    const ok = results.length > 0 && results.every((r) => r.check.ok);
    if (options.json) {
      printJson(context.io, {
        ok,
        receipts: results.map(({ label, check }) => ({
          label,
          ok: check.ok,
          problems: check.problems,
          ...(check.checkpoint
            ? { origin: check.checkpoint.origin, treeSize: check.checkpoint.size }
            : {}),
          ...(check.anchoredAt ? { anchoredAt: check.anchoredAt } : {}),
        })),
      });
    } else {
      for (const { label, check } of results) {
        if (check.ok) {
          const anchored = check.anchoredAt
            ? `, time-stamped ${check.anchoredAt}`
            : ", not time-stamped";
          context.io.out(
            `OK: ${label}: in ${check.checkpoint?.origin} at tree size ${check.checkpoint?.size}${anchored}.`,
          );
        } else {
          context.io.err(`NOT VERIFIED: ${label}: ${check.problems.join("; ")}.`);
        }
      }
      if (results.length === 0) context.io.err("NOT VERIFIED: the pack holds no receipt.");
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};

function isPack(value: unknown): value is ProofPack {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { format?: unknown }).format === PROOF_PACK_FORMAT &&
    Array.isArray((value as { receipts?: unknown }).receipts)
  );
}
