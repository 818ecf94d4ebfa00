/**
 * Small builders for the decision's inputs, shared by the domain tests. Every
 * event carries an explicit id so a test can say which events a decision
 * rested on.
 */
import type { DecisionInput, TenantPolicy } from "../../src/domain/decision/types.js";
import type {
  ConsentConfirmed,
  ConsentGranted,
  ConsentWithdrawn,
  CustomerRelationship,
  Engagement,
  Erasure,
  Objection,
  SubjectFacts,
  Suppression,
  SuppressionLifted,
} from "../../src/domain/evidence.js";
import type {
  ConsentMethod,
  CustomerKind,
  EngagementKind,
  ObjectionChannel,
  SuppressionReason,
} from "../../src/domain/vocabulary.js";

export const DAY = 86_400_000;

export type DecisionTopic = DecisionInput["topic"];

/** The tenant's topics of SCENARIOS.md. */
export const TOPICS = {
  tips: { id: "tips", class: "marketing", categories: ["accessories"], serviceBasis: null },
  "deals-lenses": {
    id: "deals-lenses",
    class: "marketing",
    categories: ["lenses"],
    serviceBasis: null,
  },
  invoices: { id: "invoices", class: "service", categories: [], serviceBasis: null },
} as const satisfies Record<string, DecisionTopic>;

export type TopicId = keyof typeof TOPICS;

/** The tenant of SCENARIOS.md: default country CZ, jurisdictional, no tightening. */
export const TENANT: TenantPolicy = {
  defaultCountry: "CZ",
  mode: "jurisdictional",
  consentLifetimeMonths: null,
  softOptInMonths: null,
};

export function facts(given: Partial<SubjectFacts> = {}): SubjectFacts {
  return { country: null, subscriberType: null, birthYear: null, ageVerified: null, ...given };
}

export function granted(
  id: string,
  topic: string,
  at: number,
  options: { method?: ConsentMethod; confirmedAt?: number } = {},
): ConsentGranted {
  return {
    id,
    kind: "consent-granted",
    at,
    topic,
    method: options.method ?? "web-form",
    confirmedAt: options.confirmedAt ?? null,
  };
}

export function withdrawn(id: string, topic: string, at: number): ConsentWithdrawn {
  return { id, kind: "consent-withdrawn", at, topic };
}

export function confirmed(id: string, consent: ConsentGranted, at: number): ConsentConfirmed {
  return { id, kind: "consent-confirmed", at, topic: consent.topic, consentId: consent.id };
}

export function customer(
  id: string,
  options: {
    relationship: CustomerKind;
    lastAt: number;
    since?: number;
    categories: readonly string[];
    optOutOfferedAt: number | null;
  },
): CustomerRelationship {
  return {
    id,
    kind: "customer",
    at: options.lastAt,
    relationship: options.relationship,
    lastAt: options.lastAt,
    since: options.since ?? options.lastAt,
    categories: options.categories,
    optOutOfferedAt: options.optOutOfferedAt,
  };
}

export function objection(
  id: string,
  topic: string,
  at: number,
  channel: ObjectionChannel = "one-click",
): Objection {
  return { id, kind: "objection", at, topic, channel };
}

export function suppression(id: string, reason: SuppressionReason, at: number): Suppression {
  return { id, kind: "suppression", at, reason };
}

export function lifted(id: string, reason: SuppressionReason, at: number): SuppressionLifted {
  return { id, kind: "suppression-lifted", at, reason };
}

export function engagement(id: string, at: number, kind: EngagementKind = "open"): Engagement {
  return { id, kind: "engagement", at, engagement: kind };
}

export function erasure(id: string, at: number): Erasure {
  return { id, kind: "erasure", at };
}
