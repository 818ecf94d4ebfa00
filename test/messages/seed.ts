import { subjects } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { subjectKeyOf } from "../../src/services/deps.js";
import { appendEvidence } from "../../src/services/evidence/append-evidence.js";
import { type EvidenceInsert, newEvidence } from "../../src/services/evidence/rows.js";
import type { TestGateway } from "../support/gateway.js";

/**
 * Seeds evidence for many addresses at once, with the services' own row
 * builder, in one write: recording 10,000 consents one HTTP
 * request at a time would make the test about the evidence API, not sending.
 */
export async function seedEvidence(
  gw: Pick<TestGateway, "deps"> & { clock: () => number },
  tenantId: string,
  items: readonly {
    email: string;
    kind: EvidenceInsert["kind"];
    topic?: string;
    at: number;
    data: Record<string, unknown>;
  }[],
): Promise<void> {
  const now = gw.clock();
  const subjectRows = new Map<string, typeof subjects.$inferInsert>();
  const evidenceRows: EvidenceInsert[] = [];
  for (const item of items) {
    const subjectKey = subjectKeyOf(gw.deps, tenantId, normaliseAddress(item.email));
    subjectRows.set(subjectKey, {
      tenantId,
      subjectKey,
      email: item.email,
      createdAt: now,
      updatedAt: now,
    });
    evidenceRows.push(
      newEvidence(
        gw.deps,
        { tenantId, subjectKey, email: item.email },
        {
          kind: item.kind,
          topic: item.topic ?? null,
          at: item.at,
          data: item.data,
        },
      ),
    );
  }
  const subjectList = [...subjectRows.values()];
  for (let i = 0; i < subjectList.length; i += 500) {
    await gw.deps.db
      .insert(subjects)
      .values(subjectList.slice(i, i + 500))
      .onConflictDoNothing();
  }
  // Through the one evidence writer, so the tenant's evidence chain holds them.
  await appendEvidence(gw.deps, tenantId, () => ({ evidence: evidenceRows, result: undefined }));
}

export const consentData = { method: "web-form", confirmedAt: null, wordingVersion: "v1" };

/** A consent to `topic` given a day ago by each of `emails`. */
export function consentsOf(gw: { clock: () => number }, emails: readonly string[], topic = "tips") {
  const at = gw.clock() - 86_400_000;
  return emails.map((email) => ({
    email,
    kind: "consent-granted" as const,
    topic,
    at,
    data: consentData,
  }));
}
