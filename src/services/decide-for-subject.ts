import { and, eq } from "drizzle-orm";
import { evidence, subjects } from "../db/schema.js";
import { isValidAddress, normaliseAddress } from "../domain/address.js";
import { decide } from "../domain/decision/decide.js";
import type { Decision } from "../domain/decision/types.js";
import type { EvidenceEvent, SubjectFacts } from "../domain/evidence.js";
import { type Deps, subjectKeyOf } from "./deps.js";
import { toDomainEvent } from "./evidence/to-domain.js";
import { policyOf, type TenantRow } from "./tenant.js";
import { getTopic } from "./topics.js";

export interface SubjectDecision extends Decision {
  topic: string;
  decidedAt: string;
}

/** What would happen now if a message of `topicId` went to `email`, and why. */
export async function decideForSubject(
  deps: Deps,
  tenant: TenantRow,
  email: string,
  topicId: string,
): Promise<SubjectDecision> {
  const topic = await getTopic(deps, tenant.id, topicId);
  const now = deps.clock();
  const valid = isValidAddress(email);
  let facts: SubjectFacts = {
    country: null,
    subscriberType: null,
    birthYear: null,
    ageVerified: null,
  };
  let events: EvidenceEvent[] = [];
  if (valid) {
    const subjectKey = await subjectKeyOf(deps, tenant.id, normaliseAddress(email));
    const [subject, rows] = await Promise.all([
      deps.db.query.subjects.findFirst({
        where: and(eq(subjects.tenantId, tenant.id), eq(subjects.subjectKey, subjectKey)),
      }),
      deps.db
        .select({
          id: evidence.id,
          kind: evidence.kind,
          topic: evidence.topic,
          occurredAt: evidence.occurredAt,
          data: evidence.data,
        })
        .from(evidence)
        .where(and(eq(evidence.tenantId, tenant.id), eq(evidence.subjectKey, subjectKey))),
    ]);
    if (subject) {
      facts = {
        country: subject.country,
        subscriberType: subject.subscriberType,
        birthYear: subject.birthYear,
        ageVerified: subject.ageVerified,
      };
    }
    events = rows.map(toDomainEvent).filter((e): e is EvidenceEvent => e !== null);
  }
  const decision = decide({
    addressValid: valid,
    topic,
    facts,
    evidence: events,
    tenant: policyOf(tenant),
    now,
  });
  return { ...decision, topic: topic.id, decidedAt: new Date(now).toISOString() };
}
