import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
 * Evidence events, append-only (DESIGN §2). `occurredAt` is when the thing
 * happened and orders the events for the decision; `recordedAt` is when
 * Grounds learned of it. `data` holds what the decision and the proof need;
 * `personal` holds personal data (IP, user agent, source URL, notes) that
 * erasure removes.
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
  },
  (t) => [index("evidence_subject").on(t.tenantId, t.subjectKey, t.occurredAt)],
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
