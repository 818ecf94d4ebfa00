/**
 * The words of the contract (docs/design.md §3, §5). They are stable API: integrations
 * are written against them, so values are only ever added, never renamed.
 */

export const REASONS = [
  "restricted",
  "erased",
  "hard-bounce",
  "spam-complaint",
  "objected",
  "consent-withdrawn",
  "consent-expired",
  "consent-unconfirmed",
  "consent-minor",
  // docs/design.md §3 rule 6: below the age of digital consent, no basis that needs
  // no consent applies (COPPA for the US).
  "minor",
  "no-basis",
  "invalid-address",
  // Not a decision rule: the sender cancelled the message before it was
  // handed to the provider (DELETE /v1/messages/{id}); the superseding
  // justification says so.
  "cancelled",
] as const;
export type Reason = (typeof REASONS)[number];

export const BASES = [
  "consent",
  "legitimate-interest",
  "contract",
  "legal-obligation",
  "opt-out-regime",
  "corporate-subscriber",
  "implied-consent",
] as const;
export type Basis = (typeof BASES)[number];

export const TOPIC_CLASSES = ["marketing", "service"] as const;
export type TopicClass = (typeof TOPIC_CLASSES)[number];

/** The basis a service topic is sent on (docs/design.md §3 rule 2). */
export const SERVICE_BASES = ["contract", "legal-obligation"] as const;
export type ServiceBasis = (typeof SERVICE_BASES)[number];

export const CONSENT_METHODS = [
  "web-form",
  "double-opt-in",
  "import",
  "api",
  "paper",
  "phone",
  "preference-center",
] as const;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];

export const OBJECTION_CHANNELS = [
  "one-click",
  "preference-center",
  "spam-complaint",
  "email",
  "post",
  "phone",
  "api",
  // Received by another tool before the tenant came to Grounds (an import).
  "import",
  // Received by the e-mail provider (SendGrid's own unsubscribe link or
  // group preferences) and reported by its signed Event Webhook.
  "provider",
] as const;
export type ObjectionChannel = (typeof OBJECTION_CHANNELS)[number];

export const CUSTOMER_KINDS = ["purchase", "inquiry"] as const;
export type CustomerKind = (typeof CUSTOMER_KINDS)[number];

export const SUPPRESSION_REASONS = ["hard-bounce", "spam-complaint", "restricted"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** Suppressions that may lawfully be lifted by the tenant. */
export const LIFTABLE_SUPPRESSIONS = ["hard-bounce", "restricted"] as const;
export type LiftableSuppression = (typeof LIFTABLE_SUPPRESSIONS)[number];

export const ENGAGEMENT_KINDS = ["open", "click", "visit"] as const;
export type EngagementKind = (typeof ENGAGEMENT_KINDS)[number];

export const SUBSCRIBER_TYPES = ["individual", "corporate"] as const;
export type SubscriberType = (typeof SUBSCRIBER_TYPES)[number];

export const POLICY_MODES = ["jurisdictional", "strict"] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/** The topic id that stands for "all marketing" in an objection. */
export const ALL_MARKETING = "*";
