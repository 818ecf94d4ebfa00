import { and, eq } from "drizzle-orm";
import { evidence, subjects } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { newEvidence, type RecordedEvidence, recorded, subjectOf } from "./rows.js";

/**
 * Erasure (GDPR Art. 17): the subject's personal data is removed — the
 * address as given, its facts, and the personal part of every evidence
 * event — and a tombstone remains, keyed by the keyed hash of the address,
 * so the address is never mailed again without a fresh opt-in (DESIGN §3
 * rule 1). The evidence rows themselves stay: they hold no address.
 */
export async function eraseSubject(
  deps: Deps,
  tenantId: string,
  email: string,
): Promise<RecordedEvidence[]> {
  const subject = await subjectOf(deps, tenantId, email);
  const tombstone = newEvidence(deps, subject, { kind: "erasure", at: deps.clock(), data: {} });
  const ofSubject = (table: typeof evidence | typeof subjects) =>
    and(eq(table.tenantId, tenantId), eq(table.subjectKey, subject.subjectKey));
  await deps.db.batch([
    deps.db.update(evidence).set({ personal: null }).where(ofSubject(evidence)),
    deps.db
      .update(subjects)
      .set({
        email: null,
        country: null,
        subscriberType: null,
        birthYear: null,
        ageVerified: null,
        updatedAt: deps.clock(),
      })
      .where(ofSubject(subjects)),
    deps.db.insert(evidence).values(tombstone),
  ]);
  return recorded([tombstone]);
}
