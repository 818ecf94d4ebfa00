import type {
  ConsentMethod,
  CustomerKind,
  EngagementKind,
  ObjectionChannel,
  SubscriberType,
  SuppressionReason,
} from "./vocabulary.js";

/**
 * Evidence as the decision sees it. Times are epoch milliseconds of when a
 * thing *happened* (collectedAt, receivedAt, …), never of when it was
 * recorded: the latest relevant event wins (docs/design.md §3). The one use of the
 * recording time: a stop dated ahead of the gateway's clock counts from the
 * moment it was recorded (docs/design.md §2 "When an event happened").
 */
export type EvidenceEvent =
  | ConsentGranted
  | ConsentWithdrawn
  | ConsentConfirmed
  | CustomerRelationship
  | Objection
  | Suppression
  | SuppressionLifted
  | Engagement
  | Erasure;

interface EventBase {
  /** The stored event's id, named in the decision that rests on it. */
  id: string;
  /** When it happened, as its evidence says. */
  at: number;
  /**
   * When the gateway recorded it, where known. Evidence may be dated up to a
   * few minutes ahead (clock skew); a stop so dated counts from this moment,
   * a grant only from its own time.
   */
  recordedAt?: number;
}

export interface ConsentGranted extends EventBase {
  kind: "consent-granted";
  topic: string;
  method: ConsentMethod;
  /** When double opt-in was confirmed, if it was. */
  confirmedAt: number | null;
}

export interface ConsentWithdrawn extends EventBase {
  kind: "consent-withdrawn";
  topic: string;
}

/** A later confirmation of a pending double opt-in consent. */
export interface ConsentConfirmed extends EventBase {
  kind: "consent-confirmed";
  topic: string;
  /** The consent-granted event it confirms. */
  consentId: string;
}

export interface CustomerRelationship extends EventBase {
  kind: "customer";
  relationship: CustomerKind;
  /** Last purchase (or, for an inquiry, the inquiry) time; `at` is the same. */
  lastAt: number;
  since: number;
  categories: readonly string[];
  /** When the opt-out was offered at collection (ePrivacy Art. 13(2)). */
  optOutOfferedAt: number | null;
}

export interface Objection extends EventBase {
  kind: "objection";
  /** A topic id, or "*" for all marketing. */
  topic: string;
  channel: ObjectionChannel;
}

export interface Suppression extends EventBase {
  kind: "suppression";
  reason: SuppressionReason;
}

export interface SuppressionLifted extends EventBase {
  kind: "suppression-lifted";
  reason: SuppressionReason;
}

export interface Engagement extends EventBase {
  kind: "engagement";
  engagement: EngagementKind;
}

/** GDPR Art. 17: the tombstone an erasure leaves behind. */
export interface Erasure extends EventBase {
  kind: "erasure";
}

/** What is known about the subject now (docs/design.md §2). */
export interface SubjectFacts {
  /** ISO 3166-1 alpha-2, upper case. */
  country: string | null;
  subscriberType: SubscriberType | null;
  birthYear: number | null;
  ageVerified: boolean | null;
}

export const UNKNOWN_FACTS: SubjectFacts = {
  country: null,
  subscriberType: null,
  birthYear: null,
  ageVerified: null,
};
