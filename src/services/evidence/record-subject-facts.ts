import { and, eq } from "drizzle-orm";
import { evidence, subjects } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { factsEvent, type SubjectFactsInput, subjectOf, upsertSubject } from "./rows.js";

export interface SubjectFactsView {
  country: string | null;
  subscriberType: "individual" | "corporate" | null;
  birthYear: number | null;
  ageVerified: boolean | null;
}

/** Records facts about a subject (country, subscriber type, age). */
export async function recordSubjectFacts(
  deps: Deps,
  tenantId: string,
  email: string,
  facts: SubjectFactsInput,
): Promise<SubjectFactsView> {
  const subject = await subjectOf(deps, tenantId, email);
  await deps.db.batch([
    upsertSubject(deps, subject, facts),
    deps.db.insert(evidence).values(factsEvent(deps, subject, facts)),
  ]);
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
