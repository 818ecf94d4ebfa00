import type { EvidenceEvent, SubjectFacts } from "../evidence.js";
import type { Topic } from "../topic.js";
import type { Basis, PolicyMode, Reason } from "../vocabulary.js";

/** The tenant's side of a decision: where it is, and how it tightens the law. */
export interface TenantPolicy {
  /** ISO 3166-1 alpha-2: the country assumed when the subject's is unknown. */
  defaultCountry: string;
  /** `strict`: send only where the subject's rule set and `eu` both allow it. */
  mode: PolicyMode;
  /** A tenant may shorten the consent lifetime, never lengthen it. */
  consentLifetimeMonths: number | null;
  /** A tenant may shorten the soft opt-in window, never lengthen it. */
  softOptInMonths: number | null;
}

export interface DecisionInput {
  /** False when the address is not a deliverable e-mail address. */
  addressValid: boolean;
  topic: Pick<Topic, "id" | "class" | "categories" | "serviceBasis">;
  facts: SubjectFacts;
  /** Every evidence event of the subject, in any order, for any topic. */
  evidence: readonly EvidenceEvent[];
  tenant: TenantPolicy;
  /** Epoch milliseconds. */
  now: number;
}

/** One step of the rule trace: which rule looked, and what it found. */
export interface TraceStep {
  rule: TraceRule;
  outcome: "passed" | "failed" | "decided" | "skipped";
  detail: string;
  /** The rule set the step was decided under. */
  ruleSet: string;
  /** Ids of the evidence events the step looked at. */
  evidence?: string[];
}

export type TraceRule =
  | "address"
  | "erasure"
  | "restricted"
  | "hard-bounce"
  | "service"
  | "objection"
  | "consent"
  | "soft-opt-in"
  | "opt-out-regime"
  | "corporate-subscriber"
  | "implied-consent"
  // Rule 6: a subject known to be below the age of digital consent.
  | "minor"
  | "no-basis"
  | "strict-mode"
  // Not a rule of the decision: the proof of a double opt-in request, sent
  // because the person asked for it (services/subscriptions).
  | "double-opt-in"
  // Nor this: the sender cancelled the message before it was handed over
  // (services/messages/cancel-message.ts).
  | "cancelled";

/** An evidence event a decision rested on. */
export interface EvidenceRef {
  id: string;
  kind: EvidenceEvent["kind"];
  at: string;
}

export interface Decision {
  decision: "send" | "suppress";
  /** The lawful basis when sending; null when suppressed. */
  basis: Basis | null;
  /** Why it was suppressed (empty when sending). */
  reasons: Reason[];
  /** The rule set and version decided under, e.g. `cz@1` (`us@1+eu@1` in strict mode). */
  ruleSet: string;
  evidence: EvidenceRef[];
  trace: TraceStep[];
}
