import { Hono } from "hono";
import * as v from "valibot";
import { toBase64 } from "../../domain/proof/base64.js";
import { parseCheckpoint } from "../../domain/proof/checkpoint.js";
import { splitNote, verifierKey } from "../../domain/proof/signed-note.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../../services/deps.js";
import { anchorLog } from "../../services/proofs/anchor-log.js";
import {
  consistencyProofOf,
  latestCheckpoint,
  logSigner,
  readLogHead,
} from "../../services/proofs/log-store.js";
import { proofPackOf } from "../../services/proofs/proof-pack.js";
import { type ReceiptAnswer, receiptOf } from "../../services/proofs/receipt.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { validate } from "../validate.js";

const TreeSize = v.pipe(
  v.string(),
  v.regex(/^(?:0|[1-9][0-9]{0,14})$/, "a tree size (a non-negative integer)"),
  v.transform(Number),
);
const ConsistencyQuery = v.object({ from: TreeSize, to: TreeSize });

const CHECKPOINT_TYPE = "text/plain; charset=utf-8";

/**
 * The tenant's Merkle log (docs/design.md §5, §6): its signed checkpoint, the
 * verifier key, consistency proofs, anchoring, receipts; and the public
 * checkpoint for witnesses.
 */
export function logRoutes(deps: Deps) {
  const scoped = requireScope(deps, "compliance:read");
  const admin = requireScope(deps, "admin");
  const receipt = (answer: ReceiptAnswer) => {
    if ("receipt" in answer) return answer.receipt;
    throw new ProblemError("not-found", {
      detail:
        answer.missing === "pruned"
          ? "The entry's content was removed by retention; its leaf hash remains in the log."
          : answer.missing === "not-in-log"
            ? "This record predates the tenant's log: the log's first entry commits to it through the chain heads it records."
            : "No such record for this tenant.",
    });
  };
  return new Hono<AppEnv>()
    .get(
      "/v1/log/checkpoint",
      documented({
        summary: "The log's latest signed checkpoint",
        description:
          "The tenant's latest checkpoint: `{checkpoint, treeSize, rootHash, anchoredAt, timestamp}` — `checkpoint` is the C2SP tlog-checkpoint text signed as a C2SP signed note with the installation's Ed25519 key (`GET /v1/log/key`); `timestamp` the RFC 3161 token (base64 DER) over SHA-256 of its note text when it was anchored. docs/proof-log.md.",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      async (c) => {
        const latest = await latestCheckpoint(deps, c.var.principal.tenant.id);
        if (!latest) {
          throw new ProblemError("not-found", { detail: "The log has no entry yet." });
        }
        const text = splitNote(latest.note)?.text ?? "";
        const parsed = parseCheckpoint(text);
        return c.json({
          checkpoint: latest.note,
          treeSize: latest.size,
          rootHash: parsed ? toBase64(parsed.root) : null,
          anchoredAt: latest.anchoredAt === null ? null : new Date(latest.anchoredAt).toISOString(),
          timestamp: latest.anchor,
        });
      },
    )
    .get(
      "/v1/log/key",
      documented({
        summary: "The log's verifier key",
        description:
          "The installation's Ed25519 note verifier key in the C2SP note-verifier form `<name>+<hex key id>+<base64(0x01 ‖ public key)>`: `{key, name, keyId}`. It checks every tenant's checkpoints and receipts.",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      async (c) => {
        const signer = await logSigner(deps);
        return c.json({
          key: verifierKey(signer),
          name: signer.name,
          keyId: [...signer.keyId].map((b) => b.toString(16).padStart(2, "0")).join(""),
        });
      },
    )
    .get(
      "/v1/log/consistency",
      documented({
        summary: "A consistency proof between two tree sizes",
        description:
          "RFC 9162 §2.1.4: `{from, to, proof:[base64…]}` proving that the tenant's tree of `to` entries extends its tree of `from` entries (1 ≤ from ≤ to ≤ the log's size).",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      validate("query", ConsistencyQuery),
      async (c) => {
        const { from, to } = c.req.valid("query");
        const tenantId = c.var.principal.tenant.id;
        const head = await readLogHead(deps, tenantId);
        if (!(from >= 1 && from <= to && to <= head.size)) {
          throw new ProblemError("invalid-request", {
            detail: `Sizes must satisfy 1 ≤ from ≤ to ≤ ${head.size} (the log's size).`,
            errors: [{ pointer: "/from", detail: "out of range" }],
          });
        }
        const proof = await consistencyProofOf(deps, tenantId, from, to);
        return c.json({ from, to, proof: proof.map(toBase64) });
      },
    )
    .post(
      "/v1/log/anchor",
      documented({
        summary: "Anchor the log now",
        description:
          "Time-stamps the tenant's latest checkpoint with the RFC 3161 authority at `TSA_URL` (the token's imprint is SHA-256 of the checkpoint's note text) and keeps the token: `{anchored:true, treeSize, anchoredAt, already}`. Without `TSA_URL`, or when the authority fails, `{anchored:false, reason}` (`no-tsa`, `empty-log`, `tsa-failed`) and nothing changes.",
        tag: "Proofs",
        auth: "admin",
      }),
      admin,
      idempotent(deps),
      async (c) => {
        const result = await anchorLog(deps, c.var.principal.tenant.id);
        if (!result.anchored) {
          if (result.detail) console.warn(`[grounds] anchoring failed: ${result.detail}`);
          return c.json({ anchored: false, reason: result.reason });
        }
        return c.json({
          anchored: true,
          treeSize: result.size,
          anchoredAt: new Date(result.anchoredAt).toISOString(),
          already: result.already,
        });
      },
    )
    .get(
      "/v1/justifications/:id/receipt",
      documented({
        summary: "A justification's receipt",
        description:
          "A self-contained receipt `{format, entry, leafIndex, treeSize, inclusion:[base64…], checkpoint, timestamp?}`: the justification's log entry, its RFC 9162 inclusion proof at the checkpoint it rests on (the earliest anchored one covering it, else the latest) and that checkpoint's RFC 3161 token. It verifies offline with the verifier key alone (`npx grounds verify-receipt FILE --key VKEY`, docs/proof-log.md) and reveals nothing about other recipients.",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      async (c) =>
        c.json(
          receipt(
            await receiptOf(deps, c.var.principal.tenant.id, "justification", c.req.param("id")),
          ),
        ),
    )
    .get(
      "/v1/evidence/:id/receipt",
      documented({
        summary: "An evidence event's receipt",
        description:
          "The receipt of an evidence event, as for justifications: its log entry (the event's non-personal part, the subject as its keyed hash), inclusion proof, signed checkpoint and timestamp token.",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      async (c) =>
        c.json(
          receipt(await receiptOf(deps, c.var.principal.tenant.id, "evidence", c.req.param("id"))),
        ),
    )
    .get(
      "/v1/subjects/:email/proofs",
      documented({
        summary: "A person's proof pack",
        description:
          "One file for a regulator who asks why this person was mailed: `{format, generatedAt, tenant, subject, verifierKey, summary:[…], receipts:[{kind, id, receipt}], withoutReceipt:[…]}` — a receipt for every evidence event and justification of the address (each with the checkpoint and RFC 3161 token it rests on), the log's verifier key and a readable summary. `npx grounds verify-receipt FILE --key VKEY` checks every receipt in it. Not registered as a data-subject access request (that is `GET /v1/subjects/{email}`).",
        tag: "Proofs",
        auth: "compliance:read",
      }),
      scoped,
      async (c) => {
        const pack = await proofPackOf(deps, c.var.principal.tenant, c.req.param("email"));
        c.header("cache-control", "no-store");
        return c.json(pack);
      },
    )
    .get(
      "/log/:tenant/checkpoint",
      documented({
        summary: "A tenant's latest checkpoint, for witnesses",
        description:
          "The latest signed checkpoint of the tenant's log as a C2SP signed note (text/plain), public so that witnesses (C2SP tlog-witness) and auditors can follow the log's growth.",
        tag: "Proofs",
        auth: "public",
      }),
      async (c) => {
        const latest = await latestCheckpoint(deps, c.req.param("tenant"));
        if (!latest) throw new ProblemError("not-found", { detail: "No such log." });
        c.header("cache-control", "no-cache");
        return c.body(latest.note, 200, { "content-type": CHECKPOINT_TYPE });
      },
    );
}
