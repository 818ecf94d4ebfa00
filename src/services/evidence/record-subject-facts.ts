import { and, eq } from "drizzle-orm";
import { subjects } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { appendEvidence } from "./append-evidence.js";
import { factsEvent, hasFacts, type SubjectFactsInput, subjectOf, upsertSubject } from "./rows.js";

export interface SubjectFactsView {
  country: string | null;
  subscriberType: "individual" | "corporate" | null;
  birthYear: number | null;
  ageVerified: boolean | null;
}

/**
 * Records facts about a subject (country, subscriber type, age). Each is
 * optional (docs/design.md §2): a fact left out stays as held, or unknown — no
 * country means the tenant's default country, no subscriber type means
 * `individual`. Facts that say nothing record nothing.
 */
export async function recordSubjectFacts(
  deps: Deps,
  tenantId: string,
  email: string,
  facts: SubjectFactsInput,
): Promise<SubjectFactsView> {
  const subject = await subjectOf(deps, tenantId, email);
  if (hasFacts(facts)) {
    const event = factsEvent(deps, subject, facts);
    await appendEvidence(deps, tenantId, () => ({
      before: [upsertSubject(deps, subject, facts)],
      evidence: [event],
      result: undefined,
    }));
  }
  const row = await deps.db.query.subjects.findFirst({
    where: and(eq(subjects.tenantId, tenantId), eq(subjects.subjectKey, subject.subjectKey)),
  });
  return {
    country: row?.country ?? null,
    subscriberType: row?.subscriberType ?? null,
    birthYear: row?.birthYear ?? null,
    ageVerified: row?.ageVerified ?? null,
  };
}
