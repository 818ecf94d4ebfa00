import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import * as v from "valibot";
import { isValidAddress } from "../../domain/address.js";
import { readInstant } from "../../domain/instant.js";
import { CLOCK_SKEW_MS, EARLIEST_EVIDENCE } from "../../domain/time.js";
import type { Topic } from "../../domain/topic.js";
import { ALL_MARKETING } from "../../domain/vocabulary.js";
import type { EvidenceInsert, SubjectFactsInput } from "../evidence/rows.js";
import { sourcePersonal } from "../evidence/rows.js";
import { sendGridMapper } from "./formats/sendgrid.js";
import type { FileRecord } from "./read.js";
import {
  firstIssue,
  IMPORT_ROW_TYPES,
  type ImportFormat,
  type ImportRowInput,
  ImportRowSchema,
  type ImportRowType,
  type SendGridList,
} from "./row-schemas.js";

/**
 * The formats an import reads (docs/design.md §5), each mapped onto evidence with
 * method `import`, keeping the original times and (anonymised) IPs. A mapper
 * turns one record of the file into the evidence it stands for, or into the
 * reason it is refused. Mappers are pure: the database is the writer's.
 */

export { IMPORT_FORMATS, type ImportFormat } from "./row-schemas.js";

/** How a file is to be read, as the request said. */
export interface ImportOptions {
  /** Topics a consent (or objection) is to when its row names none. */
  topics: string[];
  /** Generic CSV and NDJSON: the type of a row that has no `type`. */
  type?: ImportRowType | undefined;
  /** Generic CSV: the column that holds a field, where it is not named as documented. */
  map?: Record<string, string> | undefined;
  /** listmonk: the subscription status the export was filtered by. */
  subscription?: "confirmed" | "unsubscribed" | undefined;
  /** sendgrid: which of SendGrid's suppression lists the file is. */
  list?: SendGridList | undefined;
}

export interface ImportContext {
  importId: string;
  format: ImportFormat;
  options: ImportOptions;
  /** The tenant's topics, by id. */
  topics: ReadonlyMap<string, Topic>;
  /** The tenant's SendGrid ASM group → topic mapping (settings). */
  asmGroups?: Readonly<Record<string, string>> | undefined;
  now: number;
}

/** One evidence event a row stands for; the writer gives it its id and subject. */
export interface ImportEvent {
  kind: EvidenceInsert["kind"];
  topic: string | null;
  at: number;
  data: Record<string, unknown>;
  personal: Record<string, unknown> | null;
  /**
   * What makes the event the same event when a file is imported again
   * (docs/design.md: a re-run changes nothing). Its time, unless it has none.
   */
  identity: string;
}

export type ImportRow =
  | {
      line: number;
      ok: true;
      email: string;
      facts: SubjectFactsInput | undefined;
      events: ImportEvent[];
    }
  | { line: number; ok: false; reason: string };

export type RowMapper = (record: FileRecord) => ImportRow;

/** The file as a whole cannot be read as the format says (e.g. no address column). */
export class ImportFileError extends Error {
  override name = "ImportFileError";
}

/** A row is refused; `reason` never carries a value from the file. */
class RowRefused extends Error {
  override name = "RowRefused";
}

export const refuse = (reason: string): never => {
  throw new RowRefused(reason);
};

const REPLACEMENT_CHARACTER = "\uFFFD";

/**
 * The bounds every evidence writer applies (docs/design.md §2 "When an event
 * happened"): a few minutes of clock skew between the exporting tool and the
 * gateway, and nothing before 1990 (earlier dates are artefacts: epoch zero).
 */
export function checkTime(ctx: ImportContext, at: number, field: string): number {
  if (at > ctx.now + CLOCK_SKEW_MS) refuse(`${field}: lies in the future`);
  if (at < EARLIEST_EVIDENCE) refuse(`${field}: an implausible date (before 1990)`);
  return at;
}

/** An optional time column: undefined when empty, refused when not a real time. */
export function timeOf(
  ctx: ImportContext,
  text: string | undefined,
  field: string,
): number | undefined {
  if (text === undefined || text === "") return undefined;
  const reading = readInstant(text);
  if (!reading.ok) {
    refuse(
      `${field}: ${reading.reason === "impossible-date" ? "an impossible date" : "not a date or time"}`,
    );
    return undefined;
  }
  return checkTime(ctx, reading.at, field);
}

export function checkEmail(email: string, field: string): string {
  if (!isValidAddress(email)) refuse(`${field}: not a valid e-mail address`);
  return email.trim();
}

export function topicHint(id: string): string {
  // Only an id-shaped value is repeated: a reason never echoes free text.
  return /^[a-z0-9][a-z0-9._-]{0,63}$/.test(id) ? ` "${id}"` : "";
}

function consentTopics(ctx: ImportContext, topics: readonly string[] | undefined): string[] {
  const ids = [...new Set(topics && topics.length > 0 ? topics : ctx.options.topics)];
  if (ids.length === 0) refuse("topics: none given, and the import names no default topics");
  for (const id of ids) {
    const topic = ctx.topics.get(id);
    if (!topic) refuse(`topics: unknown topic${topicHint(id)}`);
    else if (topic.class !== "marketing") {
      refuse(`topics:${topicHint(id)} is a service topic, which needs no consent`);
    }
  }
  return ids;
}

function objectionTopics(ctx: ImportContext, topics: readonly string[] | undefined): string[] {
  const ids = [...new Set(topics && topics.length > 0 ? topics : ctx.options.topics)];
  if (ids.length === 0) refuse('topics: none given (use "*" for all marketing)');
  if (ids.includes(ALL_MARKETING) && ids.length > 1) refuse('topics: "*" must stand alone');
  for (const id of ids) {
    if (id !== ALL_MARKETING && !ctx.topics.has(id))
      refuse(`topics: unknown topic${topicHint(id)}`);
  }
  return ids;
}

function provenance(ctx: ImportContext): Record<string, unknown> {
  return { source: ctx.format, importId: ctx.importId };
}

interface ConsentFacts {
  action: "grant" | "withdraw";
  topics: string[];
  at: number;
  confirmedAt?: number | undefined;
  ip?: string | undefined;
  confirmIp?: string | undefined;
  userAgent?: string | undefined;
  url?: string | undefined;
  originalMethod?: string | undefined;
  wording?: { version: string; text?: string | undefined } | undefined;
}

function consentEvents(ctx: ImportContext, c: ConsentFacts): ImportEvent[] {
  const personal: Record<string, unknown> = sourcePersonal(c);
  if (c.confirmIp) {
    const ip = sourcePersonal({ ip: c.confirmIp }).ip;
    if (ip) personal.confirmIp = ip;
  }
  const data: Record<string, unknown> = {
    method: "import",
    ...(c.action === "grant" ? { confirmedAt: c.confirmedAt ?? null } : {}),
    ...(c.originalMethod ? { originalMethod: c.originalMethod } : {}),
    ...(c.wording ? { wordingVersion: c.wording.version } : {}),
    ...(c.wording?.text ? { wordingSha256: bytesToHex(sha256(utf8ToBytes(c.wording.text))) } : {}),
    ...provenance(ctx),
  };
  return c.topics.map((topic) => ({
    kind: c.action === "grant" ? "consent-granted" : "consent-withdrawn",
    topic,
    at: c.at,
    data,
    personal: Object.keys(personal).length > 0 ? personal : null,
    identity: String(c.at),
  }));
}

export function objectionEvents(
  ctx: ImportContext,
  topics: string[],
  at: number,
  channel: string,
  note?: string,
): ImportEvent[] {
  return topics.map((topic) => ({
    kind: "objection",
    topic,
    at,
    data: { channel, ...provenance(ctx) },
    personal: note ? { note } : null,
    identity: String(at),
  }));
}

export function suppressionEvent(
  ctx: ImportContext,
  reason: string,
  at: number | undefined,
  note?: string,
): ImportEvent {
  return {
    kind: "suppression",
    topic: null,
    // A suppression list often has no dates: such a suppression holds from
    // its first import on, and a later import of it is the same event.
    at: at ?? ctx.now,
    data: { reason, ...(at === undefined ? { undated: true } : {}), ...provenance(ctx) },
    personal: note ? { note } : null,
    identity: at === undefined ? `${reason}:undated` : `${reason}:${at}`,
  };
}

/** Wraps a mapper so a refusal becomes a refused row, and unreadable records are refused too. */
export function guarded(map: (record: FileRecord) => ImportRow): RowMapper {
  return (record) => {
    if (record.error !== undefined) return { line: record.line, ok: false, reason: record.error };
    try {
      return map(record);
    } catch (error) {
      if (error instanceof RowRefused)
        return { line: record.line, ok: false, reason: error.message };
      throw error;
    }
  };
}

/* ---------- CSV columns ---------- */

/** Header names compared without case, spaces, dashes or underscores. */
function headerKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Reads the fields of one CSV row by column, refusing mis-encoded text in any column read. */
export function columnReader(header: readonly string[], fields: readonly string[]) {
  if (fields.length !== header.length) {
    refuse(
      `has ${fields.length} fields where the header has ${header.length} (an unquoted comma or line break?)`,
    );
  }
  return (index: number | undefined): string | undefined => {
    if (index === undefined) return undefined;
    const value = fields[index]?.trim();
    if (value?.includes(REPLACEMENT_CHARACTER)) {
      refuse(`${header[index]}: holds bytes that are not UTF-8 (save or export the file as UTF-8)`);
    }
    return value === "" ? undefined : value;
  };
}

export function indexOf(header: readonly string[], ...names: string[]): number | undefined {
  const keys = names.map(headerKey);
  const index = header.findIndex((name) => keys.includes(headerKey(name)));
  return index === -1 ? undefined : index;
}

function splitList(text: string | undefined, separators: RegExp): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text
    .split(separators)
    .map((item) => item.trim())
    .filter((item) => item !== "");
  return items.length > 0 ? items : undefined;
}

/* ---------- Mailchimp ---------- */

/**
 * A Mailchimp audience export: the subscribed, unsubscribed and cleaned
 * members files (or one of them). Times are read as UTC, as Mailchimp writes
 * them. `CC` is not taken as the subject's country: it is a guess from the
 * IP, and a guess must not pick a looser rule set.
 */
export function mailchimpMapper(header: readonly string[], ctx: ImportContext): RowMapper {
  const email = indexOf(header, "Email Address", "Email", "E-mail");
  if (email === undefined) {
    throw new ImportFileError('no "Email Address" column: this is not a Mailchimp audience export');
  }
  const col = {
    optin: indexOf(header, "OPTIN_TIME"),
    optinIp: indexOf(header, "OPTIN_IP"),
    confirm: indexOf(header, "CONFIRM_TIME"),
    confirmIp: indexOf(header, "CONFIRM_IP"),
    lastChanged: indexOf(header, "LAST_CHANGED"),
    unsub: indexOf(header, "UNSUB_TIME"),
    unsubReason: indexOf(header, "UNSUB_REASON"),
    clean: indexOf(header, "CLEAN_TIME"),
  };
  const unsubscribedFile = col.unsub !== undefined;
  const cleanedFile = col.clean !== undefined;
  return guarded((record) => {
    const get = columnReader(header, record.fields ?? []);
    const address = checkEmail(get(email) ?? "", header[email] ?? "Email Address");
    const optin = timeOf(ctx, get(col.optin), "OPTIN_TIME");
    const confirm = timeOf(ctx, get(col.confirm), "CONFIRM_TIME");
    if (optin !== undefined && confirm !== undefined && confirm < optin) {
      refuse("CONFIRM_TIME: before OPTIN_TIME");
    }
    const events: ImportEvent[] = [];
    let endedAt = Number.POSITIVE_INFINITY;
    if (unsubscribedFile) {
      const at =
        timeOf(ctx, get(col.unsub), "UNSUB_TIME") ??
        timeOf(ctx, get(col.lastChanged), "LAST_CHANGED") ??
        refuse("no UNSUB_TIME or LAST_CHANGED: an unsubscription without a date");
      endedAt = at;
      // Mailchimp records abuse reports as unsubscriptions; a spam complaint
      // is an objection to all marketing (docs/design.md §3 rule 3).
      if (/abuse|spam/i.test(get(col.unsubReason) ?? "")) {
        events.push(suppressionEvent(ctx, "spam-complaint", at));
      } else {
        events.push(
          ...consentEvents(ctx, { action: "withdraw", topics: consentTopics(ctx, undefined), at }),
        );
      }
    } else if (cleanedFile) {
      const at =
        timeOf(ctx, get(col.clean), "CLEAN_TIME") ??
        timeOf(ctx, get(col.lastChanged), "LAST_CHANGED") ??
        refuse("no CLEAN_TIME or LAST_CHANGED: a bounce without a date");
      events.push(suppressionEvent(ctx, "hard-bounce", at));
    }
    const givenAt = optin ?? confirm;
    if (givenAt === undefined) {
      if (events.length === 0) {
        refuse("no OPTIN_TIME or CONFIRM_TIME: a consent without a date is no evidence");
      }
    } else if (givenAt <= endedAt) {
      // The consent history of an unsubscribed or cleaned member is kept too;
      // a grant dated after the unsubscription the file reports is not.
      events.unshift(
        ...consentEvents(ctx, {
          action: "grant",
          topics: consentTopics(ctx, undefined),
          at: givenAt,
          // Without OPTIN_TIME, CONFIRM_TIME is when the member was added
          // (by an import or by hand), not a double opt-in confirmation.
          confirmedAt: optin !== undefined ? confirm : undefined,
          ip: optin !== undefined ? (get(col.optinIp) ?? get(col.confirmIp)) : get(col.confirmIp),
          confirmIp: optin !== undefined && confirm !== undefined ? get(col.confirmIp) : undefined,
        }),
      );
    }
    return { line: record.line, ok: true, email: address, facts: undefined, events };
  });
}

/* ---------- listmonk ---------- */

/**
 * A listmonk subscriber export (`uuid, email, name, attributes, status,
 * created_at, updated_at`, times as Go prints them). It has no per-list
 * status: `subscription` says which the export was filtered by.
 */
export function listmonkMapper(header: readonly string[], ctx: ImportContext): RowMapper {
  const email = indexOf(header, "email");
  const status = indexOf(header, "status");
  const created = indexOf(header, "created_at");
  const updated = indexOf(header, "updated_at");
  if (email === undefined || status === undefined || created === undefined) {
    throw new ImportFileError(
      "not a listmonk subscriber export: the columns email, status and created_at are needed",
    );
  }
  return guarded((record) => {
    const get = columnReader(header, record.fields ?? []);
    const address = checkEmail(get(email) ?? "", "email");
    const state = (get(status) ?? "").toLowerCase();
    const createdAt = timeOf(ctx, get(created), "created_at");
    const updatedAt = timeOf(ctx, get(updated), "updated_at");
    let events: ImportEvent[];
    if (state === "blocklisted") {
      // Blocklisted: the person wants no mail from any list.
      const at = updatedAt ?? refuse("updated_at: needed to date the blocklisting");
      events = objectionEvents(ctx, [ALL_MARKETING], at, "import");
    } else if (state === "enabled") {
      const topics = consentTopics(ctx, undefined);
      if (ctx.options.subscription === "unsubscribed") {
        const at = updatedAt ?? refuse("updated_at: needed to date the unsubscription");
        events = consentEvents(ctx, { action: "withdraw", topics, at });
      } else {
        const at = createdAt ?? refuse("created_at: needed to date the consent");
        events = consentEvents(ctx, { action: "grant", topics, at });
      }
    } else if (state === "disabled") {
      return refuse("status disabled: neither a consent nor an opt-out, nothing to import");
    } else {
      return refuse("status: not enabled, disabled or blocklisted");
    }
    return { line: record.line, ok: true, email: address, facts: undefined, events };
  });
}

/* ---------- Generic CSV and NDJSON ---------- */

/** The documented columns of a generic CSV: field → accepted header names. */
export const CSV_COLUMNS: Record<string, readonly string[]> = {
  type: ["type"],
  email: ["email", "email address", "e-mail"],
  topics: ["topics", "topic"],
  action: ["action"],
  collectedAt: ["collectedAt"],
  confirmedAt: ["confirmedAt"],
  ip: ["ip"],
  confirmIp: ["confirmIp"],
  userAgent: ["userAgent"],
  url: ["url", "sourceUrl"],
  wordingVersion: ["wordingVersion"],
  country: ["country"],
  subscriberType: ["subscriberType"],
  birthYear: ["birthYear"],
  ageVerified: ["ageVerified"],
  kind: ["kind"],
  since: ["since"],
  lastPurchaseAt: ["lastPurchaseAt"],
  categories: ["categories"],
  optOutOfferedAt: ["optOutOfferedAt"],
  channel: ["channel"],
  receivedAt: ["receivedAt"],
  note: ["note"],
  reason: ["reason"],
  at: ["at"],
};

/** The columns each row type reads; the others are left alone for that row. */
const COLUMNS_OF: Record<ImportRowType, readonly string[]> = {
  consent: [
    "topics",
    "action",
    "collectedAt",
    "confirmedAt",
    "ip",
    "confirmIp",
    "userAgent",
    "url",
    "wordingVersion",
    "country",
    "subscriberType",
    "birthYear",
    "ageVerified",
  ],
  customer: [
    "kind",
    "since",
    "lastPurchaseAt",
    "categories",
    "optOutOfferedAt",
    "country",
    "subscriberType",
    "birthYear",
    "ageVerified",
  ],
  objection: ["topics", "channel", "receivedAt", "note"],
  suppression: ["reason", "at", "note"],
};

/** Where a field of the row schema is in the CSV row object. */
const FIELD_OF_PATH: Record<string, string> = {
  "source.ip": "ip",
  "source.userAgent": "userAgent",
  "source.url": "url",
  "wording.version": "wordingVersion",
  "subject.country": "country",
  "subject.subscriberType": "subscriberType",
  "subject.birthYear": "birthYear",
  "subject.ageVerified": "ageVerified",
};

function rowType(ctx: ImportContext, given: unknown): ImportRowType {
  if (given === undefined) return ctx.options.type ?? "consent";
  const type = typeof given === "string" ? given.trim().toLowerCase() : "";
  if ((IMPORT_ROW_TYPES as readonly string[]).includes(type)) return type as ImportRowType;
  return refuse(`type: must be one of ${IMPORT_ROW_TYPES.join(", ")}`);
}

/** The evidence of a row of the generic formats, checked as the API checks a write. */
function eventsOfRow(
  ctx: ImportContext,
  line: number,
  input: unknown,
  fieldName: (path: string) => string,
): ImportRow {
  const parsed = v.safeParse(ImportRowSchema, input);
  if (!parsed.success) return refuse(firstIssue(parsed.issues, fieldName));
  const row: ImportRowInput = parsed.output;
  const email = checkEmail(row.email, fieldName("email"));
  const time = (at: number | undefined, path: string) =>
    at === undefined ? undefined : checkTime(ctx, at, fieldName(path));
  let events: ImportEvent[];
  let facts: SubjectFactsInput | undefined;
  switch (row.type) {
    case "consent": {
      const at = time(row.collectedAt, "collectedAt") ?? 0;
      const confirmedAt = time(row.confirmedAt, "confirmedAt");
      if (confirmedAt !== undefined && confirmedAt < at) {
        refuse(`${fieldName("confirmedAt")}: before ${fieldName("collectedAt")}`);
      }
      events = consentEvents(ctx, {
        action: row.action,
        topics: consentTopics(ctx, row.topics),
        at,
        confirmedAt,
        ip: row.source?.ip,
        confirmIp: row.confirmIp,
        userAgent: row.source?.userAgent,
        url: row.source?.url,
        originalMethod: row.source?.method,
        wording: row.wording,
      });
      facts = row.subject;
      break;
    }
    case "customer": {
      const since = time(row.since, "since") ?? 0;
      const lastAt = time(row.lastPurchaseAt, "lastPurchaseAt") ?? 0;
      if (lastAt < since) refuse(`${fieldName("lastPurchaseAt")}: before ${fieldName("since")}`);
      const optOutOfferedAt = time(row.optOutOfferedAt, "optOutOfferedAt");
      events = [
        {
          kind: "customer",
          topic: null,
          at: lastAt,
          data: {
            relationship: row.kind,
            since,
            lastAt,
            categories: [...new Set(row.categories.map((c) => c.trim()))],
            optOutOfferedAt: optOutOfferedAt ?? null,
            ...provenance(ctx),
          },
          personal: null,
          identity: `${row.kind}:${since}:${lastAt}`,
        },
      ];
      facts = row.subject;
      break;
    }
    case "objection": {
      const at = time(row.receivedAt, "receivedAt") ?? 0;
      events = objectionEvents(ctx, objectionTopics(ctx, row.topics), at, row.channel, row.note);
      break;
    }
    case "suppression": {
      events = [suppressionEvent(ctx, row.reason, time(row.at, "at"), row.note)];
      break;
    }
  }
  return { line, ok: true, email, facts, events };
}

/**
 * A generic CSV: a header row naming the documented columns (any case;
 * spaces, dashes and underscores ignored), or others mapped onto them with
 * `map`. Lists (topics, categories) are separated by `;` or `|` (topics also
 * by `,` or spaces).
 */
export function csvMapper(header: readonly string[], ctx: ImportContext): RowMapper {
  const columns = new Map<string, number>();
  for (const [field, names] of Object.entries(CSV_COLUMNS)) {
    const mapped = ctx.options.map?.[field];
    const index = mapped === undefined ? indexOf(header, field, ...names) : indexOf(header, mapped);
    if (mapped !== undefined && index === undefined) {
      throw new ImportFileError(`map: no column named as mapped for "${field}"`);
    }
    if (index !== undefined) columns.set(field, index);
  }
  if (!columns.has("email")) {
    throw new ImportFileError('no "email" column (or map one with map=email:<column>)');
  }
  const headerOf = (field: string) => {
    const index = columns.get(FIELD_OF_PATH[field] ?? field);
    return index === undefined ? field : (header[index] ?? field);
  };
  return guarded((record) => {
    const get = columnReader(header, record.fields ?? []);
    const field = (name: string) => get(columns.get(name));
    const type = rowType(ctx, field("type"));
    const input: Record<string, unknown> = { type, email: field("email") ?? "" };
    const read = COLUMNS_OF[type];
    const source: Record<string, string> = {};
    const subject: Record<string, unknown> = {};
    for (const name of read) {
      const value = field(name);
      if (value === undefined) continue;
      switch (name) {
        case "topics":
          input.topics = splitList(value, /[;|,\s]+/);
          break;
        case "categories":
          input.categories = splitList(value, /[;|]+/);
          break;
        case "ip":
        case "userAgent":
        case "url":
          source[name] = value;
          break;
        case "wordingVersion":
          input.wording = { version: value };
          break;
        case "country":
        case "subscriberType":
          subject[name] = value;
          break;
        case "birthYear":
          subject.birthYear = /^\d{4}$/.test(value) ? Number(value) : value;
          break;
        case "ageVerified":
          subject.ageVerified = /^(true|yes|y|1)$/i.test(value)
            ? true
            : /^(false|no|n|0)$/i.test(value)
              ? false
              : value;
          break;
        default:
          input[name] = value;
      }
    }
    if (Object.keys(source).length > 0) input.source = source;
    if (Object.keys(subject).length > 0) input.subject = subject;
    return eventsOfRow(ctx, record.line, input, headerOf);
  });
}

/** NDJSON: each line a JSON object shaped as the API's evidence write, with `type`. */
export function ndjsonMapper(ctx: ImportContext): RowMapper {
  return guarded((record) => {
    const value = record.value;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return refuse("not a JSON object");
    }
    const row = value as Record<string, unknown>;
    const type = rowType(ctx, row.type);
    return eventsOfRow(ctx, record.line, { ...row, type }, (path) => path);
  });
}

/** The mapper for a file of `format`; CSV formats are built from the header. */
export function mapperFor(ctx: ImportContext, header: readonly string[] | null): RowMapper {
  switch (ctx.format) {
    case "ndjson":
      return ndjsonMapper(ctx);
    case "csv":
      return csvMapper(header ?? [], ctx);
    case "mailchimp":
      return mailchimpMapper(header ?? [], ctx);
    case "listmonk":
      return listmonkMapper(header ?? [], ctx);
    case "sendgrid":
      return sendGridMapper(header ?? [], ctx);
  }
}
