import { and, asc, eq } from "drizzle-orm";
import { evidence, justifications } from "../../db/schema.js";
import { PROOF_PACK_FORMAT, type ProofPack } from "../../domain/proof/proof-pack.js";
import { verifierKey } from "../../domain/proof/signed-note.js";
import type { Deps } from "../deps.js";
import { subjectOf } from "../evidence/rows.js";
import type { TenantRow } from "../tenant.js";
import { logSigner } from "./log-store.js";
import { receiptAt } from "./receipt.js";

/**
 * The proof pack of one person (docs/design.md §5 `GET /v1/subjects/{email}/proofs`):
 * a receipt for every evidence event and justification of the subject, in
 * time order, with the verifier key and a readable summary. The subject's
 * rows are found by the (tenant, subject key) indexes both tables have
 * (docs/decisions/0001-proof-log.md). It is not registered as a data-subject
 * access request: that is `GET /v1/subjects/{email}`.
 */
export async function proofPackOf(
  deps: Deps,
  tenant: TenantRow,
  email: string,
): Promise<ProofPack> {
  const subject = await subjectOf(deps, tenant.id, email);
  const events = await deps.db
    .select({
      id: evidence.id,
      kind: evidence.kind,
      topic: evidence.topic,
      occurredAt: evidence.occurredAt,
      leafIndex: evidence.leafIndex,
    })
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenant.id), eq(evidence.subjectKey, subject.subjectKey)))
    .orderBy(asc(evidence.occurredAt));
  const decisions = await deps.db
    .select({
      id: justifications.id,
      messageId: justifications.messageId,
      topic: justifications.topic,
      decision: justifications.decision,
      basis: justifications.basis,
      reasons: justifications.reasons,
      decidedAt: justifications.decidedAt,
      leafIndex: justifications.leafIndex,
    })
    .from(justifications)
    .where(
      and(
        eq(justifications.tenantId, tenant.id),
        eq(justifications.subjectKey, subject.subjectKey),
      ),
    )
    .orderBy(asc(justifications.decidedAt));

  const records = [
    ...events.map((e) => ({
      kind: "evidence" as const,
      id: e.id,
      at: e.occurredAt,
      leafIndex: e.leafIndex,
      line: `${iso(e.occurredAt)} evidence: ${e.kind}${e.topic ? ` (topic ${e.topic})` : ""}`,
    })),
    ...decisions.map((j) => ({
      kind: "justification" as const,
      id: j.id,
      at: j.decidedAt,
      leafIndex: j.leafIndex,
      line: `${iso(j.decidedAt)} decision: ${j.decision} message ${j.messageId} (topic ${j.topic}${j.basis ? `, basis ${j.basis}` : ""}${j.reasons.length > 0 ? `, reasons ${j.reasons.join(", ")}` : ""})`,
    })),
  ].sort((a, b) => a.at - b.at);

  const pack: ProofPack = {
    format: PROOF_PACK_FORMAT,
    generatedAt: iso(deps.clock()),
    tenant: { id: tenant.id, legalName: tenant.legalName },
    subject: { email: subject.email ?? email, key: subject.subjectKey },
    verifierKey: verifierKey(await logSigner(deps)),
    summary: [],
    receipts: [],
    withoutReceipt: [],
  };
  for (const record of records) {
    const answer =
      record.leafIndex === null
        ? ({ missing: "not-in-log" } as const)
        : await receiptAt(deps, tenant.id, record.leafIndex);
    if ("receipt" in answer) {
      pack.receipts.push({ kind: record.kind, id: record.id, receipt: answer.receipt });
      pack.summary.push(`${record.line}; receipt at log entry ${record.leafIndex}`);
    } else {
      const why =
        answer.missing === "pruned"
          ? "its content was removed by retention; its leaf hash remains"
          : "recorded before the log; committed to by the log's first entry";
      pack.withoutReceipt.push({ kind: record.kind, id: record.id, why });
      pack.summary.push(`${record.line}; no receipt: ${why}`);
    }
  }
  return pack;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
