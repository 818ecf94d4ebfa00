import type { Decision } from "../../domain/decision/types.js";
import type { Topic } from "../../domain/topic.js";
import type { SendRequest } from "../messages/compose.js";

/**
 * How a double opt-in confirmation request is decided and composed.
 *
 * It is not marketing: it advertises nothing, and is sent once because the
 * person asked to subscribe — a step taken at the data subject's request
 * (GDPR Art. 6(1)(b)), on the basis `contract`. So it is decided as a
 * service message (docs/design.md §3 rule 2), which keeps the address-level blocks
 * of rule 1 (a restricted or hard-bounced address gets nothing) but not the
 * marketing rules: its own topic's consent is, by definition, not yet
 * confirmed. It is composed with the `confirm` template about the marketing
 * topics it asks consent to, so it carries no unsubscribe link.
 */
export function confirmationDecisionTopic(topic: Topic): Topic {
  return { ...topic, class: "service", serviceBasis: "contract", categories: [] };
}

/** The topic a message is composed about, and the one it is (re-)decided under. */
export function topicsOf(
  topic: Topic,
  request: Pick<SendRequest, "confirmation">,
): { composeTopic: Topic; decisionTopic: Topic } {
  if (!request.confirmation) return { composeTopic: topic, decisionTopic: topic };
  return {
    composeTopic: { ...topic, name: request.confirmation.topicName },
    decisionTopic: confirmationDecisionTopic(topic),
  };
}

/**
 * The decision for a confirmation request, as its proof shows it: the service
 * decision, with the pending consents it asks to confirm named as its
 * evidence and a trace step that says why it is sent.
 */
export function confirmationDecision(
  decision: Decision,
  pending: readonly { id: string; at: string }[],
  topicIds: readonly string[],
): Decision {
  const trace = decision.trace.filter((step) => step.rule !== "service");
  const ids = pending.map((p) => p.id);
  if (decision.decision === "send") {
    trace.push({
      detail: `a request to confirm the subscription to ${topicIds.join(", ")} the person asked for (GDPR Art. 6(1)(b)); sent once, advertises nothing`,
      evidence: ids,
      outcome: "decided",
      rule: "double-opt-in",
      ruleSet: decision.ruleSet,
    });
  }
  return {
    ...decision,
    evidence: [
      ...decision.evidence,
      ...pending.map((p) => ({ at: p.at, id: p.id, kind: "consent-granted" as const })),
    ],
    trace,
  };
}
