import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import type { TopicTranslations } from "../domain/topic.js";
// Types only: what the JSON columns of a message hold (no runtime import).
import type { Composition, SendRequest } from "../services/messages/compose.js";

/**
 * The gateway's storage. Times are epoch milliseconds (integers). Evidence is
 * append-only: nothing in this project updates or deletes an evidence row,
 * except erasure, which only removes its personal data (GDPR Art. 17).
 */

/** Facts about this installation (the operator credential's hash). */
export const instance = sqliteTable("instance", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  legalName: text("legal_name").notNull(),
  address: text("address").notNull(),
  registrationId: text("registration_id").notNull(),
  contactEmail: text("contact_email").notNull(),
  domains: text("domains", { mode: "json" }).$type<string[]>().notNull(),
  country: text("country").notNull(),
  mode: text("mode", { enum: ["jurisdictional", "strict"] }).notNull(),
  /** A tenant's tightening of the law's consent lifetime (null: the law's). */
  consentLifetimeMonths: integer("consent_lifetime_months"),
  /** A tenant's tightening of the soft opt-in window (null: the law's). */
  softOptInMonths: integer("soft_opt_in_months"),
  /** How long justifications are kept (default 3 years). */
  proofRetentionDays: integer("proof_retention_days").notNull().default(1096),
  createdAt: integer("created_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** SHA-256 of the key; the key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull().unique(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    name: text("name"),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** After this instant the key is refused (null: it does not expire). */
    expiresAt: integer("expires_at"),
    /**
     * When the key was last accepted, to the minute: written at most once a
     * minute per key, so authenticating stays a read (services/authenticate.ts).
     */
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [index("api_keys_tenant").on(t.tenantId)],
);

export const topics = sqliteTable(
  "topics",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    id: text("id").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    class: text("class", { enum: ["marketing", "service"] }).notNull(),
    categories: text("categories", { mode: "json" }).$type<string[]>().notNull(),
    serviceBasis: text("service_basis", { enum: ["contract", "legal-obligation"] }),
    /** Name and description per locale (`{"cs": {"name": …, "description": …}}`). */
    translations: text("translations", { mode: "json" })
      .$type<TopicTranslations>()
      .notNull()
      .default(sql`'{}'`),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

/**
 * A recipient address within a tenant. `subjectKey` is a keyed hash of the
 * normalised address, so evidence and proofs refer to it without holding the
 * address; `email` is the address as given, for display, removed on erasure.
 */
export const subjects = sqliteTable(
  "subjects",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    subjectKey: text("subject_key").notNull(),
    email: text("email"),
    country: text("country"),
    subscriberType: text("subscriber_type", { enum: ["individual", "corporate"] }),
    birthYear: integer("birth_year"),
    ageVerified: integer("age_verified", { mode: "boolean" }),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.subjectKey] })],
);

/**
 * Evidence events, append-only (docs/design.md §2). `occurredAt` is when the thing
 * happened and orders the events for the decision; `recordedAt` is when
 * Grounds learned of it. `data` holds what the decision and the proof need;
 * `personal` holds personal data (IP, user agent, source URL, notes) that
 * erasure removes.
 *
 * Each tenant's evidence is a hash chain (docs/design.md §6, docs/proof-log.md):
 * `seq`/`prevHash`/`hash` link every row to the one before it, over its
 * non-personal content. They are null only for rows stored before the chain
 * existed, until the tenant's next evidence write chains them (an adoption,
 * recorded in `chain_adoptions`).
 */
export const evidence = sqliteTable(
  "evidence",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    subjectKey: text("subject_key").notNull(),
    kind: text("kind", {
      enum: [
        "consent-granted",
        "consent-withdrawn",
        "consent-confirmed",
        "customer",
        "objection",
        "suppression",
        "suppression-lifted",
        "engagement",
        "erasure",
        "subject-facts",
      ],
    }).notNull(),
    topic: text("topic"),
    occurredAt: integer("occurred_at").notNull(),
    recordedAt: integer("recorded_at").notNull(),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    personal: text("personal", { mode: "json" }).$type<Record<string, unknown>>(),
    seq: integer("seq"),
    prevHash: text("prev_hash"),
    hash: text("hash"),
    /** The event's entry in the tenant's Merkle log (`log_entries.idx`). */
    leafIndex: integer("leaf_index"),
  },
  (t) => [
    index("evidence_subject").on(t.tenantId, t.subjectKey, t.occurredAt),
    uniqueIndex("evidence_chain").on(t.tenantId, t.seq),
  ],
);

/**
 * Idempotency-Key records: the first answer to a write, replayed for a retry
 * with the same key and body, refused for the same key with another body.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenantId: text("tenant_id").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    status: integer("status"),
    contentType: text("content_type"),
    body: text("body"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

/** The tamper-evident chains each tenant has (docs/design.md §6). */
export const CHAINS = ["justifications", "evidence"] as const;
export type ChainName = (typeof CHAINS)[number];

/**
 * The head of each tamper-evident chain of a tenant (docs/proof-log.md): the
 * sequence number and hash of its last row. Appending reads and moves it in
 * one write transaction, so a chain never forks.
 */
export const chainHeads = sqliteTable(
  "chain_heads",
  {
    tenantId: text("tenant_id").notNull(),
    chain: text("chain", { enum: CHAINS }).notNull(),
    seq: integer("seq").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.chain] })],
);

/**
 * A send: one message to many recipients. `request` keeps what is needed to
 * send it later (a scheduled send) or to resume it after a restart.
 */
export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    topic: text("topic").notNull(),
    status: text("status", {
      // `sandbox`: SendGrid's sandbox mode through the v3 drop-in, decided and proven, never delivered.
      enum: ["scheduled", "sending", "sent", "partially-failed", "failed", "cancelled", "sandbox"],
    }).notNull(),
    /** The request as validated (recipients deduplicated): a scheduled send is decided from it. */
    request: text("request", { mode: "json" }).$type<SendRequest>(),
    /**
     * The message as composed once at send time: delivery personalises every
     * chunk from it and never composes again. Null for a scheduled message
     * until it goes, and for messages stored before the column existed.
     */
    composition: text("composition", { mode: "json" }).$type<Composition>(),
    sendAt: integer("send_at"),
    /**
     * The `Idempotency-Key` the send was asked with: a retry after a crash
     * finds the message by it and is answered with its state.
     */
    idempotencyKey: text("idempotency_key"),
    recipients: integer("recipients").notNull(),
    sendCount: integer("send_count").notNull().default(0),
    suppressCount: integer("suppress_count").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("messages_tenant").on(t.tenantId, t.createdAt),
    index("messages_due").on(t.status, t.sendAt),
    index("messages_idempotency").on(t.tenantId, t.idempotencyKey),
  ],
);

/**
 * The proof log (docs/design.md §2, §6): one row per (message, recipient), written
 * before the message is handed to the provider. The decision columns and
 * `seq`/`prevHash`/`hash` are the hashed, never-changing part; the delivery
 * outcome (`status` onward) follows outside the hashed content.
 */
export const justifications = sqliteTable(
  "justifications",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    seq: integer("seq").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
    messageId: text("message_id").notNull(),
    subjectKey: text("subject_key").notNull(),
    topic: text("topic").notNull(),
    decision: text("decision", { enum: ["send", "suppress"] }).notNull(),
    basis: text("basis"),
    reasons: text("reasons", { mode: "json" }).$type<string[]>().notNull(),
    ruleSet: text("rule_set").notNull(),
    evidence: text("evidence", { mode: "json" }).$type<unknown[]>().notNull(),
    trace: text("trace", { mode: "json" }).$type<unknown[]>().notNull(),
    decidedAt: integer("decided_at").notNull(),
    /** The justification this one supersedes (a later re-check before delivery). */
    supersedes: text("supersedes"),
    /** The address as given, for staff; not hashed, removed on erasure. */
    email: text("email"),
    /** Which delivery chunk of the message the recipient is in (sends only). */
    chunk: integer("chunk"),
    status: text("status", {
      enum: [
        "pending",
        "suppressed",
        "accepted",
        "delivered",
        "bounced",
        "dropped",
        "failed",
        "unknown",
        "cancelled",
        // From the provider's Event Webhook: delayed (still retrying), and
        // refused by the receiving server for a reason not about the address.
        "deferred",
        "blocked",
        // Decided to send in a sandbox-mode message: proven, never handed to the provider.
        "sandbox",
      ],
    }).notNull(),
    providerMessageId: text("provider_message_id"),
    error: text("error"),
    statusAt: integer("status_at").notNull(),
    /** The justification's entry in the tenant's Merkle log (`log_entries.idx`). */
    leafIndex: integer("leaf_index"),
  },
  (t) => [
    uniqueIndex("justifications_chain").on(t.tenantId, t.seq),
    index("justifications_message").on(t.messageId, t.chunk),
    index("justifications_subject").on(t.tenantId, t.subjectKey),
    index("justifications_decided").on(t.tenantId, t.decidedAt),
  ],
);

/**
 * The delivery chunks of a send (at most 1,000 recipients each): the durable
 * delivery queue (docs/design.md §7). A chunk is claimed `queued → handing` before
 * the provider call; an outcome that cannot be known (timeout, reset, a crash
 * while handing over) is `unknown` and is settled from the provider's events,
 * never by sending blindly again. A provider outage puts the chunk back to
 * `queued` with a later `nextAttemptAt` (backoff) until its retry window ends.
 */
export const deliveryChunks = sqliteTable(
  "delivery_chunks",
  {
    messageId: text("message_id").notNull(),
    chunk: integer("chunk").notNull(),
    status: text("status", {
      enum: ["queued", "handing", "accepted", "failed", "unknown", "cancelled"],
    }).notNull(),
    /** How many recipients the chunk hands over. */
    recipients: integer("recipients").notNull().default(0),
    /** Hand-overs begun so far. */
    attempts: integer("attempts").notNull().default(0),
    /** A queued chunk is not handed over before this time (backoff after an outage). */
    nextAttemptAt: integer("next_attempt_at").notNull().default(0),
    /** When the first hand-over began: the retry window runs from here. */
    firstAttemptAt: integer("first_attempt_at"),
    providerMessageId: text("provider_message_id"),
    error: text("error"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.messageId, t.chunk] }),
    index("delivery_chunks_due").on(t.status, t.nextAttemptAt),
  ],
);

/**
 * The local outbox: what would have gone to the provider when no key is set.
 * Stored as SendGrid receives it: each provider call's content once
 * (`outbox_mails`), and per recipient the addressing, headers and
 * substitutions, which are applied when the outbox is read — as SendGrid
 * applies them when it sends. Rows from before that keep their rendered
 * `text`/`html` and have no `mailId`.
 */
export const outboxMails = sqliteTable("outbox_mails", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  text: text("text").notNull(),
  html: text("html"),
  createdAt: integer("created_at").notNull(),
  /**
   * The call's other fields as SendGrid would have received them
   * (attachments, headers, reply_to_list, categories, custom_args, send_at,
   * batch_id, ip_pool_name, tracking_settings); null for rows from before.
   */
  fields: text("fields", { mode: "json" }).$type<Record<string, unknown>>(),
});

export const outbox = sqliteTable(
  "outbox",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    justificationId: text("justification_id"),
    to: text("to").notNull(),
    from: text("from").notNull(),
    subject: text("subject").notNull(),
    headers: text("headers", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /** Rendered content: rows from before `mailId`. */
    text: text("text"),
    html: text("html"),
    createdAt: integer("created_at").notNull(),
    /** The content this recipient's copy is rendered from (`outbox_mails`). */
    mailId: text("mail_id"),
    substitutions: text("substitutions", { mode: "json" }).$type<Record<string, string>>(),
  },
  (t) => [index("outbox_tenant").on(t.tenantId, t.createdAt)],
);

/**
 * Bulk imports of evidence (docs/design.md §5 `POST /v1/imports`): a job per file.
 * The file is stored first (`import_chunks`), answered 202, then processed in
 * batches; `processed` counts the file's records done so far, so a job cut
 * off by a restart resumes after them. `leaseUntil` keeps two processors off
 * one job.
 */
export const imports = sqliteTable(
  "imports",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    format: text("format", {
      enum: ["csv", "ndjson", "mailchimp", "listmonk", "sendgrid"],
    }).notNull(),
    /** How to read the file: default topics, default row type, column map. */
    options: text("options", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    status: text("status", {
      enum: ["receiving", "queued", "processing", "done", "failed"],
    }).notNull(),
    idempotencyKey: text("idempotency_key"),
    /** Bytes received, and the characters they decoded to (for progress). */
    bytes: integer("bytes").notNull().default(0),
    chars: integer("chars").notNull().default(0),
    chunks: integer("chunks").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    imported: integer("imported").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    rejected: integer("rejected").notNull().default(0),
    /** Characters of the file read so far. */
    position: integer("position").notNull().default(0),
    /** Why the job failed as a whole (never a value from the file). */
    error: text("error"),
    leaseUntil: integer("lease_until"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    index("imports_tenant").on(t.tenantId, t.createdAt),
    index("imports_status").on(t.status),
    uniqueIndex("imports_idempotency").on(t.tenantId, t.idempotencyKey),
  ],
);

/**
 * The raw text of an import, in order. It holds addresses, so it is kept only
 * until the job is done (then deleted), never longer.
 */
export const importChunks = sqliteTable(
  "import_chunks",
  {
    importId: text("import_id")
      .notNull()
      .references(() => imports.id),
    seq: integer("seq").notNull(),
    text: text("text").notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.seq] })],
);

/** The rows an import refused: line number and reason (never the row's values). */
export const importRejections = sqliteTable(
  "import_rejections",
  {
    importId: text("import_id")
      .notNull()
      .references(() => imports.id),
    line: integer("line").notNull(),
    reason: text("reason").notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.line] })],
);

/**
 * A tenant's settings (docs/design.md §5 `/v1/settings`) beyond the tenants row: its
 * own SendGrid API key, sealed with AES-GCM under a key derived from
 * GROUNDS_SECRET (domain/secret-box.ts; never stored in clear, never shown),
 * the public key that verifies its signed Event Webhook, and the mapping of
 * SendGrid ASM group ids and categories to its topics.
 */
export const tenantSettings = sqliteTable("tenant_settings", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  sendgridApiKeyCiphertext: text("sendgrid_api_key_ciphertext"),
  sendgridApiKeySetAt: integer("sendgrid_api_key_set_at"),
  /** Base64 DER (SPKI) of the ECDSA P-256 key SendGrid shows in Mail Settings. */
  webhookPublicKey: text("webhook_public_key"),
  /** SendGrid ASM group id → topic id. */
  asmGroupTopics: text("asm_group_topics", { mode: "json" })
    .$type<Record<string, string>>()
    .notNull()
    .$defaultFn(() => ({})),
  /** SendGrid category → topic id. */
  categoryTopics: text("category_topics", { mode: "json" })
    .$type<Record<string, string>>()
    .notNull()
    .$defaultFn(() => ({})),
  /** Outbound webhooks: where to tell the tenant's tools what recipients did (docs/design.md §5). */
  webhooks: text("webhooks", { mode: "json" })
    .$type<{ url: string; events: string[] }[]>()
    .notNull()
    .default([]),
  /** The `whsec_` secret outbound webhooks are signed with, sealed like the API key. */
  webhookSecretCiphertext: text("webhook_secret_ciphertext"),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Every provider event received, once (SendGrid redelivers: the key is
 * `sg_event_id` within the tenant), with what came of it: `applied`,
 * `ignored` (e.g. a machine open), `unmatched` (no justification of this
 * tenant by the event's `justification_id`: kept and reported, never
 * dropped) or `invalid`. It holds no address: the subject is its keyed hash.
 */
export const providerEvents = sqliteTable(
  "provider_events",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    sgEventId: text("sg_event_id").notNull(),
    event: text("event").notNull(),
    /** When it happened, by the provider's `timestamp`. */
    occurredAt: integer("occurred_at"),
    receivedAt: integer("received_at").notNull(),
    justificationId: text("justification_id"),
    subjectKey: text("subject_key"),
    providerMessageId: text("provider_message_id"),
    status: text("status", { enum: ["applied", "ignored", "unmatched", "invalid"] }).notNull(),
    /** Why it was ignored, unmatched or invalid (never a value from the event). */
    detail: text("detail"),
    /** The evidence event it recorded, if any. */
    evidenceId: text("evidence_id"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.sgEventId] }),
    index("provider_events_status").on(t.tenantId, t.status, t.receivedAt),
  ],
);

/**
 * Retention checkpoints (docs/proof-log.md): when the oldest justifications
 * of a chain are removed because their retention period ended, the `seq` and
 * `hash` of the last removed row are kept here, so the remaining chain still
 * verifies from this point instead of from the genesis.
 */
export const chainCheckpoints = sqliteTable(
  "chain_checkpoints",
  {
    tenantId: text("tenant_id").notNull(),
    chain: text("chain", { enum: CHAINS }).notNull(),
    seq: integer("seq").notNull(),
    hash: text("hash").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.chain] })],
);

/**
 * Data-subject requests (GDPR Art. 15, 17, 20): when each was received and
 * the one-month deadline of Art. 12(3) to answer it. The subject is its
 * keyed hash only, so the record outlives an erasure without holding the
 * address.
 */
export const dsrRequests = sqliteTable(
  "dsr_requests",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    subjectKey: text("subject_key").notNull(),
    kind: text("kind", { enum: ["access", "erasure"] }).notNull(),
    receivedAt: integer("received_at").notNull(),
    deadline: integer("deadline").notNull(),
    completedAt: integer("completed_at"),
  },
  (t) => [index("dsr_requests_tenant").on(t.tenantId, t.receivedAt)],
);

/**
 * Rows stored before their chain existed (evidence written by a version of
 * Grounds without the evidence chain) are chained in the order they were
 * stored at the tenant's first evidence write after the upgrade. This keeps
 * that it happened: rows up to `seq` (whose hash is `hash`) were chained at
 * `adoptedAt`, so they are tamper-evident from then on, not from when they
 * were recorded (docs/proof-log.md, "Rows from before the chain").
 */
export const chainAdoptions = sqliteTable(
  "chain_adoptions",
  {
    tenantId: text("tenant_id").notNull(),
    chain: text("chain", { enum: CHAINS }).notNull(),
    seq: integer("seq").notNull(),
    hash: text("hash").notNull(),
    adoptedAt: integer("adopted_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.chain] })],
);

/**
 * Every change of a tenant's settings and keys (docs/design.md §5 `/v1/settings`:
 * "every change is itself an entry in the tenant's log"): who (`actor`:
 * `key:<key id>` or `operator`), when, and what — each field's value before
 * and after, a secret only as `changed` or `removed`, never its value.
 * Append-only; written in the same batch as the change itself
 * (services/settings/record-settings-change.ts, the one writer).
 */
export const settingsChanges = sqliteTable(
  "settings_changes",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    at: integer("at").notNull(),
    actor: text("actor").notNull(),
    changes: text("changes", { mode: "json" }).$type<SettingsFieldChange[]>().notNull(),
  },
  (t) => [index("settings_changes_tenant").on(t.tenantId, t.at)],
);

/** One field of a settings change: its path, and its value before and after. */
export interface SettingsFieldChange {
  /** A JSON Pointer into the settings (`/retention/proofDays`) or `/keys/<id>`. */
  field: string;
  /** Absent for a secret: its value is never recorded. */
  from?: unknown;
  /** A secret's is `changed` or `removed`. */
  to: unknown;
}

/** What an entry of a tenant's Merkle log records (docs/design.md §6). */
export const LOG_ENTRY_KINDS = [
  "justification",
  "evidence",
  "message",
  "chains",
  "settings",
  "delivery",
] as const;
export type LogEntryKind = (typeof LOG_ENTRY_KINDS)[number];

/**
 * The entries of each tenant's Merkle log (docs/design.md §6, docs/proof-log.md),
 * numbered from 0 without gaps. `content` is the entry's bytes (the RFC 8785
 * JCS text of its JSON content) and `leaf` its leaf hash, SHA-256(0x00 ‖
 * content) as hex (RFC 9162 §2.1.1). Retention removes `content` (the entry
 * is "pruned"), never `leaf`, so the tree and every other receipt still
 * verify. `ref` is the id of the row the entry records (a justification, an
 * evidence event, a message).
 */
export const logEntries = sqliteTable(
  "log_entries",
  {
    tenantId: text("tenant_id").notNull(),
    idx: integer("idx").notNull(),
    kind: text("kind", { enum: LOG_ENTRY_KINDS }).notNull(),
    ref: text("ref"),
    leaf: text("leaf").notNull(),
    content: text("content"),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.idx] })],
);

/**
 * Interior nodes of the tree kept so that a proof never reads more than a
 * few hundred hashes (log-store.ts): the hash of every complete, aligned
 * subtree of 2^level leaves for level 8, 16, 24 and 32, i.e. `idx` covers
 * leaves [idx·2^level, (idx+1)·2^level).
 */
export const logNodes = sqliteTable(
  "log_nodes",
  {
    tenantId: text("tenant_id").notNull(),
    level: integer("level").notNull(),
    idx: integer("idx").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.level, t.idx] })],
);

/**
 * Where each tenant's log ends: its size and the roots of the perfect
 * subtrees its size decomposes into (hex, largest first: merkle.ts
 * `Frontier`), all an append needs to compute the next root.
 */
export const logHeads = sqliteTable("log_heads", {
  tenantId: text("tenant_id").primaryKey(),
  size: integer("size").notNull(),
  frontier: text("frontier", { mode: "json" }).$type<string[]>().notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Every signed checkpoint of a tenant's log (C2SP tlog-checkpoint as a
 * signed note), one after each append; `anchor` is the RFC 3161 timestamp
 * token (base64 DER) over SHA-256 of the checkpoint's note text, when it
 * was anchored.
 */
export const logCheckpoints = sqliteTable(
  "log_checkpoints",
  {
    tenantId: text("tenant_id").notNull(),
    size: integer("size").notNull(),
    note: text("note").notNull(),
    createdAt: integer("created_at").notNull(),
    anchor: text("anchor"),
    anchoredAt: integer("anchored_at"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.size] }),
    index("log_checkpoints_anchored").on(t.tenantId, t.anchoredAt),
  ],
);

/**
 * Outbound webhook messages (docs/design.md §5 "Outbound webhooks"): one per event a
 * tenant's endpoints subscribe to, written in the same batch as the evidence
 * it tells of (services/outbound-webhooks/enqueue.ts). `payload` holds no
 * personal data; the address is kept beside it in `email` only until every
 * delivery of the message has ended, and at once removed by an erasure.
 */
export const webhookMessages = sqliteTable(
  "webhook_messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    type: text("type").notNull(),
    subjectKey: text("subject_key").notNull(),
    email: text("email"),
    payload: text("payload", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("webhook_messages_subject").on(t.tenantId, t.subjectKey)],
);

/**
 * A message's delivery to one endpoint: a durable queue. `pending` until the
 * endpoint answers 2xx (`delivered`), or the retries of a day and more ran
 * out (`failed`), or the endpoint was removed or the subject erased
 * (`cancelled`). `leaseUntil` keeps two runners off one delivery.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    messageId: text("message_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    url: text("url").notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed", "cancelled"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    leaseUntil: integer("lease_until"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_message_url").on(t.messageId, t.url),
    index("webhook_deliveries_due").on(t.status, t.nextAttemptAt),
    index("webhook_deliveries_tenant").on(t.tenantId, t.createdAt),
  ],
);

/** Every attempt at a delivery: when, what the endpoint answered (never its body). */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    deliveryId: text("delivery_id").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    statusCode: integer("status_code"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);
