import { isValidAddress, normaliseAddress } from "../domain/address.js";
import { decide } from "../domain/decision/decide.js";
import type { Decision } from "../domain/decision/types.js";
import { type Deps, subjectKeyOf } from "./deps.js";
import { emptyHistory, loadSubjectHistories } from "./subject-facts.js";
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
  let history = emptyHistory();
  if (valid) {
    const subjectKey = subjectKeyOf(deps, tenant.id, normaliseAddress(email));
    history =
      (await loadSubjectHistories(deps, tenant.id, [subjectKey])).get(subjectKey) ?? history;
  }
  const decision = decide({
    addressValid: valid,
    topic,
    facts: history.facts,
    evidence: history.evidence,
    tenant: policyOf(tenant),
    now,
  });
  return { ...decision, topic: topic.id, decidedAt: new Date(now).toISOString() };
}
