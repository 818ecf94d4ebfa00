import { isValidAddress, normaliseAddress } from "../../domain/address.js";
import { decide } from "../../domain/decision/decide.js";
import type { Decision } from "../../domain/decision/types.js";
import type { SubjectFacts } from "../../domain/evidence.js";
import { newId } from "../../domain/ids.js";
import type { Topic } from "../../domain/topic.js";
import type { SubscriberType } from "../../domain/vocabulary.js";
import { type Deps, subjectKeyOf } from "../deps.js";
import type { JustificationDraft } from "../proofs/append-justifications.js";
import {
  emptyHistory,
  evidenceHash,
  loadSubjectHistories,
  type SubjectHistory,
} from "../subject-facts.js";
import { policyOf, type TenantRow } from "../tenant.js";

export interface Recipient {
  email: string;
  name?: string | undefined;
  data?: Record<string, unknown> | undefined;
  country?: string | undefined;
  subscriberType?: SubscriberType | undefined;
  /**
   * The caller's own SendGrid substitutions for this recipient (the v3
   * drop-in): passed on beside the gateway's, which win on a clash.
   */
  substitutions?: Record<string, string> | undefined;
  /** The v3 drop-in: the recipient's personalization's own custom args and headers. */
  customArgs?: Record<string, string> | undefined;
  headers?: Record<string, string> | undefined;
}

/** One recipient's decision, ready to be proven. */
export interface RecipientDecision {
  recipient: Recipient;
  subjectKey: string;
  decision: Decision;
  draft: JustificationDraft;
}

/**
 * Recipients deduplicated by normalised address (docs/design.md §2): the first
 * occurrence wins, so a list with "Jana@x.cz" and "jana@x.cz" mails once.
 */
export function uniqueRecipients(recipients: readonly Recipient[]): Recipient[] {
  const seen = new Set<string>();
  const out: Recipient[] = [];
  for (const recipient of recipients) {
    const key = normaliseAddress(recipient.email);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(recipient);
  }
  return out;
}

/**
 * Facts recorded as evidence are the gateway's own and win; what the sender
 * says at send time only fills what is unknown (the gateway does not trust
 * the sender to pick the rule set).
 */
function factsFor(history: SubjectHistory, recipient: Recipient): SubjectFacts {
  return {
    ...history.facts,
    country: history.facts.country ?? recipient.country?.trim().toUpperCase() ?? null,
    subscriberType: history.facts.subscriberType ?? recipient.subscriberType ?? null,
  };
}

/** Justification drafts for a decision (hashed evidence references included). */
export function draftFor(
  messageId: string,
  topic: Topic,
  subjectKey: string,
  email: string | null,
  decision: Decision,
  history: SubjectHistory,
  now: number,
): JustificationDraft {
  return {
    id: newId("jus", now),
    messageId,
    subjectKey,
    topic: topic.id,
    decision: decision.decision,
    basis: decision.basis,
    reasons: decision.reasons,
    ruleSet: decision.ruleSet,
    evidence: decision.evidence.map((ref) => {
      const row = history.rows.get(ref.id);
      // Members in name order, as the proof hashes them (RFC 8785).
      return row ? { at: ref.at, hash: evidenceHash(row), id: ref.id, kind: ref.kind } : ref;
    }),
    trace: decision.trace,
    decidedAt: now,
    supersedes: null,
    email,
    chunk: null,
    status: decision.decision === "send" ? "pending" : "suppressed",
    providerMessageId: null,
    error: null,
    statusAt: now,
  };
}

/**
 * Decides for every recipient at once: the histories of all recipients are
 * loaded in two queries, then the pure decision runs per recipient.
 */
export async function decideRecipients(
  deps: Deps,
  tenant: TenantRow,
  topic: Topic,
  messageId: string,
  recipients: readonly Recipient[],
): Promise<RecipientDecision[]> {
  const now = deps.clock();
  const keyed = recipients.map((recipient) => ({
    recipient,
    valid: isValidAddress(recipient.email),
    subjectKey: subjectKeyOf(deps, tenant.id, normaliseAddress(recipient.email)),
  }));
  const histories = await loadSubjectHistories(
    deps,
    tenant.id,
    keyed.filter((k) => k.valid).map((k) => k.subjectKey),
  );
  const policy = policyOf(tenant);
  return keyed.map(({ recipient, valid, subjectKey }) => {
    const subjectHistory = histories.get(subjectKey) ?? emptyHistory();
    const decision = decide({
      addressValid: valid,
      topic,
      facts: factsFor(subjectHistory, recipient),
      evidence: subjectHistory.evidence,
      tenant: policy,
      now,
    });
    return {
      recipient,
      subjectKey,
      decision,
      draft: draftFor(
        messageId,
        topic,
        subjectKey,
        recipient.email.trim(),
        decision,
        subjectHistory,
        now,
      ),
    };
  });
}
