import { and, eq, gte } from "drizzle-orm";
import { evidence } from "../../db/schema.js";
import { domainOf } from "../../domain/address.js";
import { canonicalDomain } from "../../domain/compliance/index.js";
import { signConfirmToken } from "../../domain/confirm-token.js";
import { decide } from "../../domain/decision/decide.js";
import { sha256Hex } from "../../domain/digest.js";
import { newId } from "../../domain/ids.js";
import { isoTime } from "../../domain/time.js";
import { topicInLocale } from "../../domain/topic.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import {
  type EvidenceInsert,
  newEvidence,
  type RecordedEvidence,
  type SubjectFactsInput,
  sourcePersonal,
  subjectOf,
  writeEvidence,
} from "../evidence/rows.js";
import { composeFor, type SendRequest } from "../messages/compose.js";
import { draftFor } from "../messages/decide-recipients.js";
import { deliverOrEnqueue } from "../messages/deliver-message.js";
import { proveMessage } from "../messages/send-message.js";
import { emptyHistory, loadSubjectHistories } from "../subject-facts.js";
import { policyOf, type TenantRow } from "../tenant.js";
import { requireTopics } from "../topics.js";
import { confirmationDecision, topicsOf } from "./confirmation-message.js";

/** How long a confirmation link works unless the request says otherwise. */
export const DEFAULT_CONFIRMATION_DAYS = 7;
/**
 * At most this many confirmation mails per address in 24 hours: a sign-up
 * form must not become a way to flood someone's mailbox.
 */
export const MAX_CONFIRMATIONS_PER_DAY = 3;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface SubscriptionRequestInput {
  email: string;
  topics: string[];
  /** Where the person asked (the sign-up form); the IP is stored anonymised. */
  source: {
    method?: "double-opt-in" | undefined;
    url?: string | undefined;
    ip?: string | undefined;
    userAgent?: string | undefined;
  };
  /** The words the person agreed to on the form (GDPR Art. 7(1)). */
  wording: { version: string; text: string };
  subject?: SubjectFactsInput | undefined;
  /** The language of the confirmation mail and of the page its link opens (`en`, `cs`). */
  locale?: "en" | "cs" | undefined;
  /** 1–30 days; default 7. */
  expiresInDays?: number | undefined;
  /** The confirmation's sender; default the tenant's contact address (if on a verified domain). */
  from?: { email: string; name?: string | undefined } | undefined;
}

export interface SubscriptionResult {
  subscriptionId: string;
  expiresAt: string;
  /** The pending consents, one per topic: they count once confirmed. */
  evidence: RecordedEvidence[];
  confirmation: {
    messageId: string;
    justificationId: string;
    decision: "send" | "suppress";
    reasons: string[];
    /** The delivery status of the confirmation mail (its justification's). */
    status: string;
  };
}

/**
 * Starts a double opt-in (docs/design.md §5 `POST /v1/subscriptions`): records one
 * pending consent per topic (method `double-opt-in`, not confirmed), then
 * sends the confirmation request through the normal path — decided, proven
 * in the chained proof log before delivery, delivered like any message.
 *
 * The confirmation link is never in the answer: only the person, from their
 * mailbox, may confirm. Requests for one address are throttled
 * (`subscription-throttled`).
 */
export async function requestSubscription(
  deps: Deps,
  tenant: TenantRow,
  input: SubscriptionRequestInput,
): Promise<SubscriptionResult> {
  const subject = await subjectOf(deps, tenant.id, input.email);
  const known = await requireTopics(deps, tenant.id, input.topics, { marketingOnly: true });
  const topics = [...new Set(input.topics)].flatMap((id) => {
    const topic = known.get(id);
    return topic ? [topic] : [];
  });
  const [first] = topics;
  if (!first) {
    throw new ProblemError("invalid-request", {
      errors: [{ pointer: "/topics", detail: "at least one topic" }],
    });
  }
  const now = deps.clock();
  const subscriptionId = newId("sub", now);
  const messageId = newId("msg", now);
  const confirmBy = now + (input.expiresInDays ?? DEFAULT_CONFIRMATION_DAYS) * DAY_MS;
  const token = signConfirmToken(deps.confirmTokenKey, {
    tenantId: tenant.id,
    subjectKey: subject.subjectKey,
    subscriptionId,
    issuedAt: now,
  });
  const locale = input.locale ?? "en";
  const confirmUrl = `${deps.publicUrl}/c/${token}${locale === "cs" ? "?lang=cs" : ""}`;
  // In the language the person subscribed in: the confirm template, its
  // subject, the list of topics ("Tips and Lens deals", "Tipy a Slevy").
  const topicName = new Intl.ListFormat(locale, { type: "conjunction" }).format(
    topics.map((t) => topicInLocale(t, locale).name.trim()),
  );
  const request: SendRequest = {
    topic: first.id,
    from: input.from ?? defaultSender(tenant),
    replyTo: { email: tenant.contactEmail },
    subject:
      locale === "cs"
        ? `Potvrďte přihlášení k odběru: ${topicName}`
        : `Confirm your subscription to ${topicName}`,
    template: locale === "cs" ? "confirm-cs" : "confirm",
    data: { confirm_url: confirmUrl },
    recipients: [{ email: input.email.trim() }],
    locale,
    confirmation: { topics: topics.map((t) => t.id), topicName },
  };
  // Composed once; refuses what cannot be sent (an unverified From domain, …) before anything is written.
  const composition = composeFor(tenant, topicsOf(first, request).composeTopic, request);
  await assertNotThrottled(deps, subject.tenantId, subject.subjectKey, now);

  const wording = {
    wordingVersion: input.wording.version,
    wordingSha256: await sha256Hex(input.wording.text),
  };
  const rows: EvidenceInsert[] = topics.map((topic) =>
    newEvidence(deps, subject, {
      kind: "consent-granted",
      topic: topic.id,
      at: now,
      data: { method: "double-opt-in", ...wording, confirmedAt: null, subscriptionId, confirmBy },
      personal: sourcePersonal(input.source),
    }),
  );
  const recorded = await writeEvidence(deps, subject, input.subject, rows);

  const history =
    (await loadSubjectHistories(deps, tenant.id, [subject.subjectKey])).get(subject.subjectKey) ??
    emptyHistory();
  const { decisionTopic } = topicsOf(first, request);
  const decision = confirmationDecision(
    decide({
      addressValid: true,
      topic: decisionTopic,
      facts: history.facts,
      evidence: history.evidence,
      tenant: policyOf(tenant),
      now,
    }),
    rows.map((row) => ({ id: row.id, at: isoTime(row.occurredAt) })),
    request.confirmation?.topics ?? [],
  );
  const draft = draftFor(
    messageId,
    first,
    subject.subjectKey,
    input.email.trim(),
    decision,
    history,
    now,
  );
  const chunkCount = await proveMessage(deps, tenant, first.id, messageId, {
    request,
    composition,
    decided: [
      { recipient: { email: input.email.trim() }, subjectKey: subject.subjectKey, decision, draft },
    ],
  });
  // Delivered by the delivery queue, like any message (docs/design.md §7).
  await deliverOrEnqueue(deps, tenant, messageId, chunkCount);
  const proof = await deps.db.query.justifications.findFirst({
    where: (j, { eq: equal }) => equal(j.messageId, messageId),
    orderBy: (j, { desc }) => desc(j.seq),
  });
  return {
    subscriptionId,
    expiresAt: new Date(confirmBy).toISOString(),
    evidence: recorded,
    confirmation: {
      messageId,
      justificationId: proof?.id ?? draft.id,
      decision: proof?.decision ?? decision.decision,
      reasons: proof?.reasons ?? decision.reasons,
      status: proof?.status ?? "pending",
    },
  };
}

/** The tenant's contact address when it is on a verified domain, else no-reply@ its first domain. */
function defaultSender(tenant: TenantRow): { email: string; name: string } {
  const verified = new Set(tenant.domains.map(canonicalDomain));
  const contactDomain = canonicalDomain(domainOf(tenant.contactEmail));
  const email =
    contactDomain !== null && verified.has(contactDomain)
      ? tenant.contactEmail
      : `no-reply@${tenant.domains[0] ?? ""}`;
  return { email, name: tenant.name };
}

/** Counts the confirmation requests for this address in the last 24 hours. */
async function assertNotThrottled(
  deps: Deps,
  tenantId: string,
  subjectKey: string,
  now: number,
): Promise<void> {
  const recent = await deps.db
    .select({ data: evidence.data })
    .from(evidence)
    .where(
      and(
        eq(evidence.tenantId, tenantId),
        eq(evidence.subjectKey, subjectKey),
        eq(evidence.kind, "consent-granted"),
        gte(evidence.recordedAt, now - DAY_MS),
      ),
    );
  const requests = new Set(
    recent.flatMap(({ data }) =>
      typeof data.subscriptionId === "string" ? [data.subscriptionId] : [],
    ),
  );
  if (requests.size >= MAX_CONFIRMATIONS_PER_DAY) {
    throw new ProblemError("subscription-throttled", {
      detail: `At most ${MAX_CONFIRMATIONS_PER_DAY} confirmation requests per address in 24 hours; try again later.`,
    });
  }
}
