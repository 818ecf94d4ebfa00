import { decide } from "../../domain/decision/decide.js";
import type { Topic } from "../../domain/topic.js";
import type { Basis, Reason } from "../../domain/vocabulary.js";
import type { Deps } from "../deps.js";
import { emptyHistory, loadSubjectHistories } from "../subject-facts.js";
import { policyOf } from "../tenant.js";
import { listTopics } from "../topics.js";
import type { UnsubscribeLink } from "./open-unsubscribe-link.js";

/** One marketing topic as the preference center shows it. */
export interface TopicPreference {
  topic: Topic;
  /** Whether the next message of this topic would be sent: the decision's answer (docs/design.md §3). */
  receiving: boolean;
  basis: Basis | null;
  reasons: Reason[];
}

export interface PreferenceState {
  /** Every marketing topic of the tenant, the link's own first. */
  topics: TopicPreference[];
  /**
   * An address-level block (a restriction under GDPR Art. 18, a hard bounce):
   * nothing is sent whatever the preferences, so there is nothing to choose.
   */
  blocked: boolean;
}

const ADDRESS_BLOCKS: ReadonlySet<Reason> = new Set<Reason>(["restricted", "hard-bounce"]);

/**
 * The current state of every marketing topic for the link's subject. It is
 * the pure decision over the subject's evidence, not a separate flag: what
 * the page shows is exactly what the next send will do.
 */
export async function preferenceState(deps: Deps, link: UnsubscribeLink): Promise<PreferenceState> {
  const { tenant, subject } = link;
  const [topics, histories] = await Promise.all([
    listTopics(deps, tenant.id),
    loadSubjectHistories(deps, tenant.id, [subject.subjectKey]),
  ]);
  const history = histories.get(subject.subjectKey) ?? emptyHistory();
  const policy = policyOf(tenant);
  const now = deps.clock();
  const marketing = topics
    .filter((topic) => topic.class === "marketing")
    .sort((a, b) => Number(b.id === link.topic.id) - Number(a.id === link.topic.id));
  const preferences = marketing.map((topic) => {
    const decision = decide({
      addressValid: true,
      topic,
      facts: history.facts,
      evidence: history.evidence,
      tenant: policy,
      now,
    });
    return {
      topic,
      receiving: decision.decision === "send",
      basis: decision.basis,
      reasons: decision.reasons,
    };
  });
  return {
    topics: preferences,
    blocked: preferences.some((p) => p.reasons.some((reason) => ADDRESS_BLOCKS.has(reason))),
  };
}
