import * as v from "valibot";
import { isValidAddress } from "../domain/address.js";
import { LOCALES } from "../domain/compliance/wording.js";
import { hasValidCalendarFields } from "../domain/instant.js";
import { isJsonWithinDepth, MAX_JSON_DEPTH } from "../domain/json-depth.js";
import { isWebhookUrl, WEBHOOK_EVENTS } from "../domain/outbound-webhooks.js";
import {
  BASES,
  CONSENT_METHODS,
  CUSTOMER_KINDS,
  ENGAGEMENT_KINDS,
  OBJECTION_CHANNELS,
  POLICY_MODES,
  REASONS,
  SUBSCRIBER_TYPES,
  SUPPRESSION_REASONS,
  TOPIC_CLASSES,
} from "../domain/vocabulary.js";
import { SCOPES } from "../services/scopes.js";

/** Schemas of the HTTP contract (docs/design.md §5); field names are stable API. */

/**
 * An e-mail address: the one syntax of every endpoint (docs/design.md §2), the
 * domain's `isValidAddress` — RFC 5321/6531 mailboxes with `'`, `=`, `+` and
 * internationalised domains — so what can be mailed can be objected for.
 */
export const Email = v.pipe(
  v.string("must be a string"),
  v.trim(),
  v.nonEmpty("must not be empty"),
  v.maxLength(254, "at most 254 characters"),
  v.check(isValidAddress, "must be an e-mail address"),
  v.metadata({ format: "email" }),
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
  // Date.parse rolls 30 February over into March; such a date is refused.
  v.check((s) => !/^\d{4}-/.test(s) || hasValidCalendarFields(s), "an impossible date"),
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
  country: v.optional(
    v.pipe(
      Country,
      v.description("Chooses the rule set; when unknown, the tenant's default country counts."),
    ),
  ),
  subscriberType: v.optional(
    v.pipe(
      v.picklist(SUBSCRIBER_TYPES),
      v.description("When unknown, the subject counts as an `individual`."),
    ),
  ),
  birthYear: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1900),
      v.maxValue(2100),
      v.description(
        "For the age of digital consent (GDPR Art. 8, COPPA): the youngest possible age counts.",
      ),
    ),
  ),
  ageVerified: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "True when the subject's age was verified to be at least the age of digital consent.",
      ),
    ),
  ),
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
  /** After this instant the key is refused (401); must lie in the future. */
  expiresAt: v.optional(Instant),
});

/** An API key as listed: never the secret, nor its hash. */
export const KeySchema = v.object({
  id: v.string(),
  name: v.nullable(v.string()),
  scopes: v.array(v.picklist(SCOPES)),
  createdAt: v.string(),
  expiresAt: v.nullable(v.string()),
  lastUsedAt: v.nullable(v.string()),
  revokedAt: v.nullable(v.string()),
});

export const CreatedKeySchema = v.object({
  id: v.string(),
  key: v.nullable(v.string()),
  scopes: v.array(v.picklist(SCOPES)),
  name: v.nullable(v.string()),
  createdAt: v.string(),
  expiresAt: v.nullable(v.string()),
});

/** A topic's name and description in one locale (LOCALES: `en`, `cs`). */
const TopicTranslation = v.strictObject({
  name: Text(200),
  description: v.optional(v.pipe(v.string(), v.maxLength(2000))),
});

export const DefineTopicBody = v.strictObject({
  id: TopicId,
  name: Text(200),
  description: v.optional(v.pipe(v.string(), v.maxLength(2000))),
  class: v.picklist(TOPIC_CLASSES),
  categories: v.optional(v.array(Text(100))),
  serviceBasis: v.optional(v.picklist(["contract", "legal-obligation"])),
  /**
   * `name` and `description` per locale the recipient pages and footers
   * speak (`en`, `cs`); a locale without one falls back to `name` and
   * `description`.
   */
  translations: v.optional(
    v.strictObject({ en: v.optional(TopicTranslation), cs: v.optional(TopicTranslation) }),
  ),
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
  wording: v.optional(
    v.strictObject({
      version: Text(100),
      // Not trimmed: its SHA-256 must be that of the exact text shown.
      text: v.pipe(
        v.string(),
        v.check((s) => s.trim().length > 0, "must not be empty"),
        v.maxLength(20_000, "at most 20000 characters"),
      ),
    }),
  ),
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

/**
 * `PUT /v1/subjects/{email}`: every fact is optional (docs/design.md §2) — what is
 * left out is unknown and what is held stays; no country means the tenant's
 * default country, no subscriber type means `individual`.
 */
export const SubjectFactsPut = SubjectFactsBody;

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

/** A header-bound text: CR/LF are refused later with a clear problem (docs/design.md §4). */
const HeaderText = (max: number) =>
  v.pipe(v.string(), v.maxLength(max, `at most ${max} characters`));

/** A caller's free-form data (template placeholders): any JSON, nested at most MAX_JSON_DEPTH deep. */
const TemplateData = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check(
    (data) => isJsonWithinDepth(data, MAX_JSON_DEPTH - 1),
    `nested at most ${MAX_JSON_DEPTH} levels deep`,
  ),
);

export const SendMessageBody = v.strictObject({
  topic: TopicId,
  from: v.strictObject({ email: Email, name: v.optional(HeaderText(200)) }),
  replyTo: v.optional(v.strictObject({ email: Email, name: v.optional(HeaderText(200)) })),
  subject: v.pipe(
    v.string(),
    v.nonEmpty("must not be empty"),
    v.maxLength(998, "at most 998 characters"),
  ),
  template: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,64}$/, "a template name"))),
  html: v.optional(v.pipe(v.string(), v.maxLength(2_000_000))),
  text: v.optional(v.pipe(v.string(), v.maxLength(2_000_000))),
  data: v.optional(TemplateData),
  recipients: v.pipe(
    v.array(
      v.strictObject({
        email: v.pipe(v.string(), v.maxLength(320)),
        name: v.optional(HeaderText(200)),
        data: v.optional(TemplateData),
        country: v.optional(Country),
        subscriberType: v.optional(v.picklist(SUBSCRIBER_TYPES)),
      }),
    ),
    v.minLength(1, "at least one recipient"),
    v.maxLength(10_000, "at most 10,000 recipients per request"),
  ),
  sendAt: v.optional(Instant),
  dryRun: v.optional(v.boolean()),
  /**
   * The language of what the gateway adds — the sender, the "why you receive
   * this" sentence, the right to object, the link labels — and of the pages
   * its links open. The caller's own content is theirs. Default `en`.
   */
  locale: v.optional(
    v.pipe(
      v.picklist(LOCALES),
      v.description("The language of the compliance footer and of the pages its links open."),
    ),
  ),
});

/** The stable words of a decision (docs/design.md §3), as the OpenAPI document lists them. */
const BasisSchema = v.pipe(
  v.picklist(BASES),
  v.description("The lawful basis a message is sent on (docs/design.md §3)."),
);
const ReasonSchema = v.pipe(
  v.picklist(REASONS),
  v.description(
    "Why a message is suppressed (docs/design.md §3). `minor`: the subject is known to be younger than the rule set's age of digital consent, so no basis that needs no consent applies (rule 6).",
  ),
);

/** `GET /v1/subjects/{email}/decision`: the decision object. */
export const DecisionSchema = v.object({
  decision: v.picklist(["send", "suppress"]),
  basis: v.nullable(BasisSchema),
  reasons: v.array(ReasonSchema),
  ruleSet: v.string(),
  topic: v.string(),
  decidedAt: v.string(),
  evidence: v.array(v.object({ id: v.string(), kind: v.string(), at: v.string() })),
  trace: v.array(
    v.object({
      rule: v.string(),
      outcome: v.picklist(["passed", "failed", "decided", "skipped"]),
      detail: v.string(),
      ruleSet: v.string(),
      evidence: v.optional(v.array(v.string())),
    }),
  ),
});

export const SendResultSchema = v.object({
  messageId: v.nullable(v.string()),
  status: v.string(),
  sendAt: v.optional(v.string()),
  counts: v.object({ send: v.number(), suppress: v.number() }),
  results: v.array(
    v.object({
      email: v.string(),
      decision: v.picklist(["send", "suppress"]),
      basis: v.nullable(BasisSchema),
      reasons: v.array(ReasonSchema),
      justificationId: v.nullable(v.string()),
    }),
  ),
});

/** `GET /v1/messages/{id}` (services/messages/message-state.ts). */
export const MessageStateSchema = v.object({
  messageId: v.string(),
  topic: v.string(),
  status: v.picklist([
    "scheduled",
    "sending",
    "sent",
    "partially-failed",
    "failed",
    "cancelled",
    "sandbox",
  ]),
  createdAt: v.string(),
  sendAt: v.nullable(v.string()),
  counts: v.object({ recipients: v.number(), send: v.number(), suppress: v.number() }),
  delivery: v.record(v.string(), v.number()),
  chunks: v.array(
    v.object({
      chunk: v.number(),
      status: v.picklist(["queued", "handing", "accepted", "failed", "unknown", "cancelled"]),
      recipients: v.number(),
      attempts: v.number(),
      nextAttemptAt: v.nullable(v.string()),
      providerMessageId: v.nullable(v.string()),
      error: v.nullable(v.string()),
      updatedAt: v.string(),
    }),
  ),
});

/* Tenant settings (docs/design.md §5 `/v1/settings`). */

const Months = v.pipe(
  v.number(),
  v.integer("must be an integer"),
  v.minValue(1, "at least 1"),
  v.maxValue(24, "at most 24: a tenant may only tighten the law's 24 months"),
);

/** A mapping patch: a topic sets the key, `null` removes it (RFC 7396). */
const TopicMapping = <Key extends v.GenericSchema<string, string>>(key: Key) =>
  v.pipe(
    v.record(key, v.nullable(TopicId)),
    v.check((map) => Object.keys(map).length <= 1000, "at most 1000 entries"),
  );

/** An outbound webhook endpoint (docs/design.md §5 `settings.webhooks`). */
export const WebhookEndpoint = v.strictObject({
  url: v.pipe(
    v.string(),
    v.maxLength(2000),
    v.check(isWebhookUrl, "an https URL (http only on localhost), without credentials"),
  ),
  events: v.pipe(
    v.array(v.picklist(WEBHOOK_EVENTS)),
    v.minLength(1, "at least one event"),
    v.check((events) => new Set(events).size === events.length, "each event once"),
  ),
});

export const WebhookEndpoints = v.pipe(
  v.array(WebhookEndpoint),
  v.maxLength(10, "at most 10 endpoints"),
  v.check(
    (endpoints) => new Set(endpoints.map((e) => e.url)).size === endpoints.length,
    "each URL once",
  ),
);

export const SettingsPatchBody = v.strictObject({
  /** The whole list, replaced; `null` or `[]` removes every endpoint. */
  webhooks: v.optional(v.nullable(WebhookEndpoints)),
  sendgrid: v.optional(
    v.strictObject({
      /** Write-only: stored sealed, never shown. `null` removes it. */
      apiKey: v.optional(v.nullable(v.pipe(v.string(), v.nonEmpty("must not be empty")))),
      /** The Signed Event Webhook's verification key, base64 DER as SendGrid shows it. */
      webhookPublicKey: v.optional(
        v.nullable(v.pipe(v.string(), v.nonEmpty("must not be empty"), v.maxLength(1000))),
      ),
      asmGroups: v.optional(
        v.nullable(
          TopicMapping(
            v.pipe(v.string(), v.regex(/^[1-9]\d{0,9}$/, "an ASM group id (a positive integer)")),
          ),
        ),
      ),
      categories: v.optional(
        v.nullable(
          TopicMapping(v.pipe(v.string(), v.nonEmpty("must not be empty"), v.maxLength(255))),
        ),
      ),
    }),
  ),
  retention: v.optional(
    v.strictObject({
      proofDays: v.optional(
        v.pipe(v.number(), v.integer("must be an integer"), v.minValue(1), v.maxValue(36_525)),
      ),
      consentLifetimeMonths: v.optional(v.nullable(Months)),
      softOptInMonths: v.optional(v.nullable(Months)),
    }),
  ),
});

export const SettingsSchema = v.object({
  webhooks: v.array(v.object({ url: v.string(), events: v.array(v.string()) })),
  sendgrid: v.object({
    apiKey: v.object({ set: v.boolean(), setAt: v.nullable(v.string()) }),
    webhookPublicKey: v.nullable(v.string()),
    webhookUrl: v.string(),
    inboundParseUrl: v.string(),
    asmGroups: v.record(v.string(), v.string()),
    categories: v.record(v.string(), v.string()),
  }),
  retention: v.object({
    proofDays: v.number(),
    consentLifetimeMonths: v.nullable(v.number()),
    softOptInMonths: v.nullable(v.number()),
  }),
});

export const WebhookReportSchema = v.object({
  received: v.number(),
  duplicates: v.number(),
  applied: v.number(),
  ignored: v.number(),
  unmatched: v.number(),
  invalid: v.number(),
  evidence: v.number(),
  unmatchedEvents: v.array(
    v.object({
      sgEventId: v.string(),
      event: v.string(),
      justificationId: v.nullable(v.string()),
      detail: v.string(),
    }),
  ),
});
