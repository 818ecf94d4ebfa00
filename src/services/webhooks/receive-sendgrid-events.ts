import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db/database.js";
import { insertJsonRows } from "../../db/json-rows.js";
import { justifications, providerEvents, subjects, topics } from "../../db/schema.js";
import { isValidAddress, normaliseAddress } from "../../domain/address.js";
import { isJsonWithinDepth, MAX_JSON_DEPTH } from "../../domain/json-depth.js";
import { canonicalJson, sha256HexSync } from "../../domain/proof/chain.js";
import {
  type EvidenceIntent,
  effectOf,
  readSendGridEvent,
  type SendGridEvent,
  supersedesStatus,
} from "../../domain/sendgrid-events.js";
import { evidenceTimeProblem } from "../../domain/time.js";
import { ALL_MARKETING } from "../../domain/vocabulary.js";
import { ProblemError } from "../../problems.js";
import { type Deps, subjectKeyOf } from "../deps.js";
import { appendEvidence, type EvidencePlan } from "../evidence/append-evidence.js";
import { type EvidenceInsert, newEvidence } from "../evidence/rows.js";
import { errorText } from "../proofs/append-to-chain.js";
import type { TenantSettingsRow } from "../settings/settings.js";
import { erasedAtOf, inJsonArray } from "../subject-facts.js";
import { readSignedSendGridWebhook, type SignedWebhook } from "./verify-sendgrid-webhook.js";

type ProviderEventRow = typeof providerEvents.$inferInsert;
type EventStatus = ProviderEventRow["status"];

/** What a webhook POST did, as the answer reports it. */
export interface WebhookReport {
  /** Events in the body. */
  received: number;
  /** Events seen before (by `sg_event_id`), in an earlier POST or earlier in this one. */
  duplicates: number;
  applied: number;
  ignored: number;
  /** Events whose `justification_id` names no justification of this tenant: kept, not applied. */
  unmatched: number;
  invalid: number;
  /** Evidence events recorded. */
  evidence: number;
  /** The first unmatched and invalid events, to look into (never an address). */
  unmatchedEvents: {
    sgEventId: string;
    event: string;
    justificationId: string | null;
    detail: string;
  }[];
}

/** How many unmatched events an answer lists (all are kept in provider_events). */
const MAX_LISTED = 100;

/**
 * `POST /webhooks/sendgrid/{tenant}`: SendGrid's signed Event Webhook turned
 * into evidence and delivery statuses. SendGrid's suppression lists can be
 * changed or bypassed, so what it learns (bounces, complaints, unsubscribes)
 * comes back into Grounds' evidence, which the decision reads.
 *
 * At least once in, exactly once in effect: SendGrid retries a POST that
 * failed, may send an event more than once and in any order. Each event is
 * recorded once per tenant by `sg_event_id`, and the whole POST is one write
 * transaction: it applies entirely or not at all, and a redelivered batch
 * changes nothing. Order does not matter: evidence is dated by the event's
 * own `timestamp` (the decision orders by occurrence), and a delivery status
 * never moves backwards (domain/sendgrid-events.ts `supersedesStatus`).
 */
export async function receiveSendGridEvents(
  deps: Deps,
  tenantId: string,
  request: SignedWebhook,
): Promise<WebhookReport> {
  const { settings, body } = await readSignedSendGridWebhook(deps, tenantId, request);
  const raw = parseBody(body);
  const report: WebhookReport = {
    received: raw.length,
    duplicates: 0,
    applied: 0,
    ignored: 0,
    unmatched: 0,
    invalid: 0,
    evidence: 0,
    unmatchedEvents: [],
  };
  // One entry per event id: SendGrid may repeat an event within a batch too.
  const batch = new Map<string, { event: SendGridEvent | null; id: string }>();
  for (const element of raw) {
    const event = readSendGridEvent(element);
    const id = event?.sgEventId ?? `sha256:${sha256HexSync(canonicalJson(element))}`;
    if (batch.has(id)) report.duplicates += 1;
    else batch.set(id, { event, id });
  }
  if (batch.size === 0) return report;

  // No interactive transaction (an embedded libSQL file would stall a writer
  // waiting on it): the reads come first, then every write of the POST goes
  // in ONE atomic batch, its evidence appended to the tenant's evidence
  // chain (docs/design.md §6). `(tenant, sg_event_id)` is the primary key of
  // provider_events, so if the same events were applied concurrently, the
  // batch fails whole and is redone — and finds them seen.
  return appendEvidence(
    deps,
    tenantId,
    async (): Promise<EvidencePlan<WebhookReport>> => {
      const pending = new Map(batch);
      const seen = await deps.db
        .select({ id: providerEvents.sgEventId })
        .from(providerEvents)
        .where(
          and(
            eq(providerEvents.tenantId, tenantId),
            inJsonArray(providerEvents.sgEventId, [...pending.keys()]),
          ),
        );
      const attemptReport: WebhookReport = {
        ...report,
        unmatchedEvents: [...report.unmatchedEvents],
      };
      for (const { id } of seen) {
        pending.delete(id);
        attemptReport.duplicates += 1;
      }
      if (pending.size === 0) return { evidence: [], result: attemptReport };
      const context = await loadContext(deps, tenantId, [...pending.values()]);
      const work = new Batch(deps, tenantId, settings, context, attemptReport);
      for (const { event, id } of pending.values()) work.take(event, id);
      return { ...work.plan(deps.db), result: attemptReport };
    },
    (error) => /UNIQUE constraint failed: provider_events/.test(errorText(error)),
  );
}

function parseBody(body: Uint8Array): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new ProblemError("invalid-json", { detail: "The webhook body is not valid JSON." });
  }
  if (!Array.isArray(parsed)) {
    throw new ProblemError("invalid-request", {
      detail: "The webhook body must be a JSON array of events.",
    });
  }
  // An event is stored as canonical JSON, which recurses: refuse what nests too deep for that.
  if (!isJsonWithinDepth(parsed)) {
    throw new ProblemError("invalid-request", {
      detail: `The webhook body nests deeper than ${MAX_JSON_DEPTH} levels.`,
    });
  }
  return parsed;
}

interface JustificationState {
  id: string;
  subjectKey: string;
  topic: string;
  status: string;
  statusAt: number;
  error: string | null;
  providerMessageId: string | null;
  changed: boolean;
}

/** What an event's evidence is about: its justification's subject, or an address alone. */
interface EventTarget {
  /** The justification the event names; null when it names none of this tenant's. */
  id: string | null;
  subjectKey: string;
  /** The topic of the message the event is about; null when unknown. */
  topic: string | null;
}

interface Context {
  justifications: Map<string, JustificationState>;
  /** The latest erasure of each subject concerned. */
  erasedAt: Map<string, number>;
  /** The tenant's topics and their class. */
  topics: Map<string, "marketing" | "service">;
}

/** Everything the events need, read in four queries whatever their number. */
async function loadContext(
  deps: Deps,
  tenantId: string,
  entries: { event: SendGridEvent | null }[],
): Promise<Context> {
  const tx = deps.db;
  const ids = [
    ...new Set(
      entries.flatMap(({ event }) => (event?.justificationId ? [event.justificationId] : [])),
    ),
  ];
  // Only this tenant's justifications: another tenant's id is as unknown as a made-up one.
  const rows =
    ids.length === 0
      ? []
      : await tx
          .select({
            id: justifications.id,
            subjectKey: justifications.subjectKey,
            topic: justifications.topic,
            status: justifications.status,
            statusAt: justifications.statusAt,
            error: justifications.error,
            providerMessageId: justifications.providerMessageId,
          })
          .from(justifications)
          // By primary key: the unary + keeps SQLite from scanning all the
          // tenant's justifications by its tenant index instead.
          .where(
            and(
              sql`+${justifications.tenantId} = ${tenantId}`,
              inJsonArray(justifications.id, ids),
            ),
          );
  const found = new Map(rows.map((row) => [row.id, { ...row, changed: false }]));
  // Events that name no justification of this tenant count by their address.
  const byAddress = entries.flatMap(({ event }) =>
    event && !(event.justificationId && found.has(event.justificationId))
      ? [addressKeyOf(deps, tenantId, event)].filter((key): key is string => key !== null)
      : [],
  );
  const subjectKeys = [...new Set([...rows.map((row) => row.subjectKey), ...byAddress])];
  const [erasedAt, topicRows] = await Promise.all([
    erasedAtOf(tx, tenantId, subjectKeys),
    tx
      .select({ id: topics.id, class: topics.class })
      .from(topics)
      .where(eq(topics.tenantId, tenantId)),
  ]);
  return {
    justifications: found,
    erasedAt,
    topics: new Map(topicRows.map((row) => [row.id, row.class])),
  };
}

/** An event's address as its subject's keyed hash, never the address; null without a valid one. */
function addressKeyOf(deps: Deps, tenantId: string, event: SendGridEvent): string | null {
  if (!event.email || !isValidAddress(event.email)) return null;
  return subjectKeyOf(deps, tenantId, normaliseAddress(event.email));
}

/** The rows one POST writes, built in memory, then written in few statements. */
class Batch {
  private readonly now: number;
  private readonly evidenceRows: EvidenceInsert[] = [];
  private readonly eventRows: ProviderEventRow[] = [];
  /** Subjects known only from an event's address: their rows are made if missing. */
  private readonly addressSubjects = new Map<string, string>();

  constructor(
    private readonly deps: Deps,
    private readonly tenantId: string,
    private readonly settings: TenantSettingsRow,
    private readonly context: Context,
    private readonly report: WebhookReport,
  ) {
    this.now = deps.clock();
  }

  take(event: SendGridEvent | null, id: string): void {
    if (!event?.event || event.at === null) {
      this.record(id, event, "invalid", "not an event with `event` and `timestamp`");
      return;
    }
    // docs/design.md §2 "When an event happened": the same bounds as every evidence
    // writer. A signed event dated beyond them (`timestamp: 1e15`) is kept
    // only as refused — no evidence, no delivery status, no time stored.
    const outOfBounds = evidenceTimeProblem(event.at, this.now);
    if (outOfBounds) {
      this.record(id, { ...event, at: null }, "invalid", `timestamp ${outOfBounds}`);
      return;
    }
    const justification = event.justificationId
      ? this.context.justifications.get(event.justificationId)
      : undefined;
    if (!justification) {
      this.takeByAddress(event, id);
      return;
    }
    const effect = effectOf(event);
    if (effect.ignored) {
      this.record(id, event, "ignored", effect.ignored, justification.subjectKey);
      return;
    }
    if (effect.status) {
      this.applyStatus(justification, event, effect.status.status, effect.status.error);
    }
    let evidenceId: string | null = null;
    let ignored: string | null = null;
    if (effect.evidence) {
      const outcome = this.evidenceFor(effect.evidence, event, justification);
      if ("ignored" in outcome) ignored = outcome.ignored;
      else {
        this.evidenceRows.push(outcome.row);
        evidenceId = outcome.row.id;
      }
    }
    // An event whose only effect was refused (e.g. a resubscribe to an unmapped group) is ignored.
    if (ignored && !effect.status) {
      this.record(id, event, "ignored", ignored, justification.subjectKey);
      return;
    }
    this.record(id, event, "applied", ignored, justification.subjectKey, evidenceId);
  }

  /**
   * An event that names no justification of this tenant: mail the account
   * sent before Grounds, or by another way (docs/design.md §5). What it says about
   * the address still counts — an unsubscribe, group unsubscribe, spam
   * report or hard bounce becomes evidence for the address, an open or click
   * keeps consent fresh — since a person who said stop said it to the
   * sender, whichever tool sent the mail. Delivery statuses have nothing to
   * attach to and stay unmatched. The subject is the address's keyed hash.
   */
  private takeByAddress(event: SendGridEvent, id: string): void {
    const unmatched = event.justificationId ? "unknown justification_id" : "no justification_id";
    const subjectKey = addressKeyOf(this.deps, this.tenantId, event);
    const effect = effectOf(event);
    if (subjectKey === null || !effect.evidence || !event.email) {
      this.record(id, event, "unmatched", unmatched, subjectKey);
      return;
    }
    const outcome = this.evidenceFor(effect.evidence, event, { id: null, subjectKey, topic: null });
    if ("ignored" in outcome) {
      this.record(id, event, "unmatched", `${unmatched}; ${outcome.ignored}`, subjectKey);
      return;
    }
    this.addressSubjects.set(subjectKey, event.email.trim());
    this.evidenceRows.push(outcome.row);
    this.record(
      id,
      event,
      "applied",
      `${unmatched}: counted by address`,
      subjectKey,
      outcome.row.id,
    );
  }

  private applyStatus(
    justification: JustificationState,
    event: SendGridEvent,
    status: Parameters<typeof supersedesStatus>[2],
    error: string | null,
  ): void {
    const at = event.at as number;
    // SendGrid's per-recipient id (`sg_message_id`) refines the X-Message-Id of the request.
    if (event.sgMessageId && justification.providerMessageId !== event.sgMessageId) {
      justification.providerMessageId = event.sgMessageId;
      justification.changed = true;
    }
    if (supersedesStatus(justification.status, justification.statusAt, status, at)) {
      justification.status = status;
      justification.statusAt = at;
      justification.error = error;
      justification.changed = true;
    }
  }

  private evidenceFor(
    intent: EvidenceIntent,
    event: SendGridEvent,
    justification: EventTarget,
  ): { row: EvidenceInsert } | { ignored: string } {
    const at = event.at as number;
    const refusal =
      intent.kind === "objection" ||
      (intent.kind === "suppression" && intent.reason === "spam-complaint");
    const erasedAt = this.context.erasedAt.get(justification.subjectKey);
    // docs/design.md §3 rule 1: evidence from before an erasure is never brought
    // back, except the person's own "stop", which survives it (Art. 21(3)).
    if (erasedAt !== undefined && at <= erasedAt && !refusal) {
      return { ignored: "predates the subject's erasure" };
    }
    const subject = { tenantId: this.tenantId, subjectKey: justification.subjectKey, email: "" };
    // What links the evidence to SendGrid's report of it; no personal data.
    const source = {
      provider: "sendgrid",
      providerEventId: event.sgEventId,
      ...(justification.id === null
        ? { matchedBy: "address" }
        : { justificationId: justification.id }),
    };
    const row = (
      kind: EvidenceInsert["kind"],
      topic: string | null,
      data: Record<string, unknown>,
    ) => ({
      row: newEvidence(this.deps, subject, { kind, topic, at, data: { ...data, ...source } }),
    });
    switch (intent.kind) {
      case "suppression":
        return row("suppression", null, { reason: intent.reason });
      case "engagement":
        return row("engagement", null, { engagement: intent.engagement });
      case "objection": {
        if (intent.scope === "all-marketing") {
          return row("objection", ALL_MARKETING, {
            channel: "provider",
            providerEvent: event.event,
          });
        }
        // A "stop" is never lost: an unmapped group stands for the topic of
        // the message it was given for (seed 004: a refusal answers the kind
        // of message it was given to) — and, for mail Grounds did not send,
        // for all marketing: nothing narrower is known.
        const mapped = intent.asmGroupId
          ? this.settings.asmGroupTopics[intent.asmGroupId]
          : undefined;
        const topic =
          mapped && this.context.topics.has(mapped)
            ? mapped
            : (justification.topic ?? ALL_MARKETING);
        return row("objection", topic, {
          channel: "provider",
          providerEvent: event.event,
          asmGroupId: intent.asmGroupId,
          topicFrom:
            topic === mapped ? "asm-group" : justification.topic ? "message" : "unmapped-group",
        });
      }
      case "consent": {
        // A "go" needs a clear target: only a group mapped to a marketing topic.
        const topic = intent.asmGroupId
          ? this.settings.asmGroupTopics[intent.asmGroupId]
          : undefined;
        if (!topic || !this.context.topics.has(topic)) {
          return { ignored: "ASM group not mapped to a topic" };
        }
        if (this.context.topics.get(topic) !== "marketing") {
          return { ignored: "ASM group mapped to a service topic" };
        }
        return row("consent-granted", topic, {
          method: "preference-center",
          confirmedAt: null,
          providerEvent: event.event,
          asmGroupId: intent.asmGroupId,
        });
      }
    }
  }

  private record(
    id: string,
    event: SendGridEvent | null,
    status: EventStatus,
    detail: string | null,
    subjectKey: string | null = null,
    evidenceId: string | null = null,
  ): void {
    this.eventRows.push({
      tenantId: this.tenantId,
      sgEventId: id,
      event: event?.event || "(none)",
      occurredAt: event?.at ?? null,
      receivedAt: this.now,
      justificationId: event?.justificationId ?? null,
      subjectKey,
      providerMessageId: event?.sgMessageId ?? null,
      status,
      detail,
      evidenceId,
    });
    this.report[status] += 1;
    if (evidenceId) this.report.evidence += 1;
    if (
      (status === "unmatched" || status === "invalid") &&
      this.report.unmatchedEvents.length < MAX_LISTED
    ) {
      this.report.unmatchedEvents.push({
        sgEventId: id,
        event: event?.event ?? "",
        justificationId: event?.justificationId ?? null,
        detail: detail ?? status,
      });
    }
  }

  /** The POST's writes: its evidence (to be chained) and every other statement, each batched. */
  plan(db: Database): Omit<EvidencePlan<WebhookReport>, "result"> {
    // One statement for all the events, bound as one JSON parameter: a POST
    // carries up to ~10,000 of them, and row-by-row parameters cost more
    // than the insert (bench/webhook.ts).
    const rows = JSON.stringify(
      this.eventRows.map((r) => [
        r.sgEventId,
        r.event,
        r.occurredAt ?? null,
        r.justificationId ?? null,
        r.subjectKey ?? null,
        r.providerMessageId ?? null,
        r.status,
        r.detail ?? null,
        r.evidenceId ?? null,
      ]),
    );
    const statements: BatchItem<"sqlite">[] = [];
    const before: BatchItem<"sqlite">[] = [];
    if (this.addressSubjects.size > 0) {
      // A subject known only from an event gets its row (the address as SendGrid gave it), so
      // access and erasure requests find its evidence; an existing row is left as it is.
      const rows = [...this.addressSubjects].map(([subjectKey, email]) => ({
        tenantId: this.tenantId,
        subjectKey,
        email,
        createdAt: this.now,
        updatedAt: this.now,
      }));
      before.push(db.run(sql`${insertJsonRows(subjects, rows)} on conflict do nothing`));
    }
    statements.push(
      db.run(sql`
      INSERT INTO provider_events (tenant_id, received_at, sg_event_id, event, occurred_at,
        justification_id, subject_key, provider_message_id, status, detail, evidence_id)
      SELECT ${this.tenantId}, ${this.now}, value ->> 0, value ->> 1, value ->> 2, value ->> 3,
        value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8
      FROM json_each(${rows})`),
    );
    const changed = [...this.context.justifications.values()].filter((j) => j.changed);
    if (changed.length > 0) {
      // The delivery outcome lies outside the hashed content (docs/proof-log.md):
      // updating it leaves the chain intact. One statement for all of them.
      const updates = JSON.stringify(
        changed.map((j) => ({
          id: j.id,
          status: j.status,
          statusAt: j.statusAt,
          error: j.error,
          providerMessageId: j.providerMessageId,
        })),
      );
      statements.push(
        db.run(sql`
        UPDATE justifications SET
          status = json_extract(u.value, '$.status'),
          status_at = json_extract(u.value, '$.statusAt'),
          error = json_extract(u.value, '$.error'),
          provider_message_id = json_extract(u.value, '$.providerMessageId')
        FROM json_each(${updates}) AS u
        WHERE justifications.id = json_extract(u.value, '$.id')
          AND +justifications.tenant_id = ${this.tenantId}`),
      );
      // The unary + keeps SQLite from driving the UPDATE by the tenant's
      // index (a scan of all its justifications per update: seconds for a
      // large tenant); the primary key finds each row instead.
    }
    return { evidence: this.evidenceRows, before, after: statements };
  }
}
