import * as v from "valibot";
import {
  CONSENT_METHODS,
  CUSTOMER_KINDS,
  ENGAGEMENT_KINDS,
  OBJECTION_CHANNELS,
  POLICY_MODES,
  SUBSCRIBER_TYPES,
  SUPPRESSION_REASONS,
  TOPIC_CLASSES,
} from "../domain/vocabulary.js";
import { SCOPES } from "../services/scopes.js";

/** Schemas of the HTTP contract (DESIGN §5); field names are stable API. */

export const Email = v.pipe(
  v.string("must be a string"),
  v.trim(),
  v.nonEmpty("must not be empty"),
  v.maxLength(254, "at most 254 characters"),
  v.email("must be an e-mail address"),
);

/** An instant: an RFC 3339 timestamp with a zone, or a date (midnight UTC). */
export const Instant = v.pipe(
  v.string("must be an RFC 3339 timestamp"),
  v.check(
    (s) =>
      (/^\d{4}-\d{2}-\d{2}$/.test(s) ||
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(s)) &&
      !Number.isNaN(Date.parse(s)),
    "must be an RFC 3339 timestamp with a time zone, or a date",
  ),
  v.transform((s) => Date.parse(s)),
);

export const Country = v.pipe(
  v.string(),
  v.trim(),
  v.regex(/^[A-Za-z]{2}$/, "must be an ISO 3166-1 alpha-2 country code"),
  v.toUpperCase(),
);

const Text = (max: number) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.nonEmpty("must not be empty"),
    v.maxLength(max, `at most ${max} characters`),
  );

export const TopicId = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "lower-case letters, digits, '.', '_' or '-', at most 64"),
);

export const SubjectFactsBody = v.strictObject({
  country: v.optional(Country),
  subscriberType: v.optional(v.picklist(SUBSCRIBER_TYPES)),
  birthYear: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1900), v.maxValue(2100))),
  ageVerified: v.optional(v.boolean()),
});

export const CreateTenantBody = v.strictObject({
  name: Text(200),
  legalName: Text(300),
  address: Text(500),
  registrationId: Text(100),
  contactEmail: Email,
  domains: v.pipe(
    v.array(
      v.pipe(
        v.string(),
        v.trim(),
        v.toLowerCase(),
        v.regex(
          /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
          "must be a domain name",
        ),
      ),
    ),
    v.minLength(1, "at least one verified sending domain"),
  ),
  country: Country,
  mode: v.optional(v.picklist(POLICY_MODES), "jurisdictional"),
});

export const CreateKeyBody = v.strictObject({
  scopes: v.pipe(v.array(v.picklist(SCOPES)), v.minLength(1, "at least one scope")),
  name: v.optional(Text(100)),
});

export const DefineTopicBody = v.strictObject({
  id: TopicId,
  name: Text(200),
  description: v.optional(v.pipe(v.string(), v.maxLength(2000))),
  class: v.picklist(TOPIC_CLASSES),
  categories: v.optional(v.array(Text(100))),
  serviceBasis: v.optional(v.picklist(["contract", "legal-obligation"])),
});

export const ConsentBody = v.strictObject({
  email: Email,
  topics: v.pipe(v.array(TopicId), v.minLength(1, "at least one topic")),
  action: v.picklist(["grant", "withdraw"]),
  collectedAt: Instant,
  source: v.strictObject({
    method: v.picklist(CONSENT_METHODS),
    url: v.optional(v.pipe(v.string(), v.url("must be a URL"), v.maxLength(2000))),
    ip: v.optional(v.pipe(v.string(), v.ip("must be an IP address"))),
    userAgent: v.optional(v.pipe(v.string(), v.maxLength(1000))),
  }),
  wording: v.optional(v.strictObject({ version: Text(100), text: Text(20_000) })),
  confirmedAt: v.optional(Instant),
  confirmIp: v.optional(v.pipe(v.string(), v.ip("must be an IP address"))),
  subject: v.optional(SubjectFactsBody),
});

export const CustomerBody = v.strictObject({
  email: Email,
  kind: v.picklist(CUSTOMER_KINDS),
  since: Instant,
  lastPurchaseAt: Instant,
  categories: v.array(Text(100)),
  optOutOfferedAt: v.optional(Instant),
  subject: v.optional(SubjectFactsBody),
});

export const EngagementBody = v.strictObject({
  email: Email,
  kind: v.picklist(ENGAGEMENT_KINDS),
  at: Instant,
});

export const ObjectionBody = v.strictObject({
  email: Email,
  topics: v.pipe(
    v.array(v.union([TopicId, v.literal("*")])),
    v.minLength(1, 'at least one topic, or "*" for all marketing'),
  ),
  channel: v.picklist(OBJECTION_CHANNELS),
  receivedAt: Instant,
  note: v.optional(v.pipe(v.string(), v.maxLength(2000))),
});

export const SuppressionBody = v.strictObject({
  email: Email,
  reason: v.picklist(SUPPRESSION_REASONS),
  at: v.optional(Instant),
  note: v.optional(v.pipe(v.string(), v.maxLength(2000))),
});

export const SubjectFactsPut = v.strictObject({
  country: Country,
  subscriberType: v.picklist(SUBSCRIBER_TYPES),
  birthYear: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1900), v.maxValue(2100))),
  ageVerified: v.optional(v.boolean()),
});

export const DecisionQuery = v.object({ topic: TopicId });

export const EmailParam = v.object({ email: Email });

/* Answers, for the OpenAPI document. */

export const RecordedEvidenceSchema = v.object({
  evidence: v.array(
    v.object({ id: v.string(), kind: v.string(), topic: v.nullable(v.string()), at: v.string() }),
  ),
});

export const ProblemSchema = v.object({
  type: v.string(),
  title: v.string(),
  status: v.number(),
  detail: v.optional(v.string()),
  errors: v.optional(v.array(v.object({ pointer: v.string(), detail: v.string() }))),
});
