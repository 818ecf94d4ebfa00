import type {
  ConsentGranted,
  ConsentWithdrawn,
  CustomerRelationship,
  EvidenceEvent,
  Objection,
  Suppression,
} from "../evidence.js";
import {
  digitalConsentAge,
  eu,
  type RuleSet,
  ruleSetForCountry,
  ruleSetRef,
} from "../rule-sets/index.js";
import { addMonths, DAY_MS, isoTime, youngestAgeAt } from "../time.js";
import { ALL_MARKETING, type Basis, type Reason } from "../vocabulary.js";
import type { Decision, DecisionInput, EvidenceRef, TraceStep } from "./types.js";

/**
 * docs/design.md §3: facts about one subject + topic + rule set + now → decision.
 * Pure: no I/O, and everything it used is named in its result.
 *
 * In `strict` mode the subject's rule set and `eu` must both allow the
 * message; strict never loosens a rule.
 */
export function decide(input: DecisionInput): Decision {
  const country = input.facts.country ?? input.tenant.defaultCountry;
  const ruleSet = ruleSetForCountry(country);
  const { events, statedAt } = chronological(input.evidence, input.now);
  const primary = decideUnder(ruleSet, country, events, statedAt, input);
  if (input.tenant.mode !== "strict" || ruleSet.id === eu.id) return primary;
  const combined = `${primary.ruleSet}+${ruleSetRef(eu)}`;
  if (primary.decision === "suppress") {
    // The proof still shows the tenant was in strict mode.
    const trace: TraceStep[] = [
      ...primary.trace,
      {
        detail: `strict mode: ${primary.ruleSet} suppresses already, ${ruleSetRef(eu)} not needed`,
        outcome: "skipped",
        rule: "strict-mode",
        ruleSet: combined,
      },
    ];
    return { ...primary, ruleSet: combined, trace };
  }
  const alsoEu = decideUnder(eu, country, events, statedAt, input);
  const evidence = mergeRefs(primary.evidence, alsoEu.evidence);
  const trace = [...primary.trace, ...alsoEu.trace];
  if (alsoEu.decision === "suppress") {
    trace.push({
      detail: `strict mode: ${primary.ruleSet} allows it, but ${ruleSetRef(eu)} does not`,
      outcome: "decided",
      rule: "strict-mode",
      ruleSet: combined,
    });
    return { ...alsoEu, ruleSet: combined, evidence, trace };
  }
  // Both allow it. Where they name different bases, the EU basis is the one
  // that satisfies both laws (it is the stricter one), so it is the one given.
  trace.push({
    detail: `strict mode: ${primary.ruleSet} (${primary.basis}) and ${ruleSetRef(eu)} (${alsoEu.basis}) both allow it`,
    outcome: "passed",
    rule: "strict-mode",
    ruleSet: combined,
  });
  return { ...alsoEu, ruleSet: combined, evidence, trace };
}

/** Stop events win ties: at the same instant, "stop" outranks "go". */
const TIE_RANK: Record<EvidenceEvent["kind"], number> = {
  "consent-granted": 0,
  "consent-confirmed": 1,
  customer: 2,
  engagement: 3,
  "suppression-lifted": 4,
  "consent-withdrawn": 5,
  objection: 6,
  suppression: 7,
  erasure: 8,
};

/** The person's or the provider's "stop" (docs/design.md §2 "When an event happened"). */
const STOPS: ReadonlySet<EvidenceEvent["kind"]> = new Set([
  "consent-withdrawn",
  "objection",
  "suppression",
  "erasure",
]);

/**
 * When an event counts from. A stop dated ahead of the gateway's clock (the
 * sender's clock runs fast) counts from the moment it was recorded: a stop
 * never waits (GDPR Art. 7(3), 21(3)). A grant dated ahead counts only from
 * its own time: nothing is sent on a permission not yet given.
 */
export function countsFrom(event: EvidenceEvent): number {
  return STOPS.has(event.kind) && event.recordedAt !== undefined && event.recordedAt < event.at
    ? event.recordedAt
    : event.at;
}

/**
 * Events in the order they happened. Ties are broken by kind and then id, so
 * the result never depends on the order evidence was recorded in. Events
 * dated in the future have not happened yet and are left out — except a stop
 * recorded already, which takes the time it was recorded (`countsFrom`);
 * `statedAt` keeps the time such a stop is dated, for the proof.
 */
function chronological(
  evidence: readonly EvidenceEvent[],
  now: number,
): { events: EvidenceEvent[]; statedAt: ReadonlyMap<string, number> } {
  const statedAt = new Map<string, number>();
  const events: EvidenceEvent[] = [];
  for (const event of evidence) {
    const at = countsFrom(event);
    if (at > now) continue;
    if (at === event.at) events.push(event);
    else {
      statedAt.set(event.id, event.at);
      events.push({ ...event, at });
    }
  }
  events.sort(
    (a, b) =>
      a.at - b.at ||
      TIE_RANK[a.kind] - TIE_RANK[b.kind] ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return { events, statedAt };
}

function latest<T extends EvidenceEvent>(
  events: readonly EvidenceEvent[],
  match: (event: EvidenceEvent) => event is T,
): T | undefined;
function latest(
  events: readonly EvidenceEvent[],
  match: (event: EvidenceEvent) => boolean,
): EvidenceEvent | undefined;
function latest(
  events: readonly EvidenceEvent[],
  match: (event: EvidenceEvent) => boolean,
): EvidenceEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i];
    if (event && match(event)) return event;
  }
  return undefined;
}

// Members in name order, as the proof hashes them (RFC 8785): the hash of a
// justification then serialises it as it is, with no sorted copy. `at` is the
// time the evidence is dated, as stored and hashed.
function ref(event: EvidenceEvent, statedAt: ReadonlyMap<string, number>): EvidenceRef {
  return { at: isoTime(statedAt.get(event.id) ?? event.at), id: event.id, kind: event.kind };
}

function mergeRefs(a: EvidenceRef[], b: EvidenceRef[]): EvidenceRef[] {
  const seen = new Set(a.map((r) => r.id));
  return [...a, ...b.filter((r) => !seen.has(r.id))];
}

/** Collects the trace and the evidence as the rules run. */
class Reasoning {
  readonly trace: TraceStep[] = [];
  private readonly used = new Map<string, EvidenceEvent>();

  constructor(
    private readonly ruleSetId: string,
    private readonly statedAt: ReadonlyMap<string, number>,
  ) {}

  /** When an event counts from, in words; a stop dated ahead says so. */
  when(event: EvidenceEvent): string {
    const stated = this.statedAt.get(event.id);
    return stated === undefined
      ? isoTime(event.at)
      : `${isoTime(event.at)} (when it was recorded: it is dated ${isoTime(stated)}, ahead of the gateway's clock, and a stop never waits)`;
  }

  step(
    rule: TraceStep["rule"],
    outcome: TraceStep["outcome"],
    detail: string,
    evidence: readonly EvidenceEvent[] = [],
  ): void {
    // Members in name order, as the proof hashes them (see `ref`).
    this.trace.push(
      evidence.length > 0
        ? { detail, evidence: evidence.map((e) => e.id), outcome, rule, ruleSet: this.ruleSetId }
        : { detail, outcome, rule, ruleSet: this.ruleSetId },
    );
  }

  rest(...events: EvidenceEvent[]): void {
    for (const event of events) this.used.set(event.id, event);
  }

  send(basis: Basis): Decision {
    return this.result("send", basis, []);
  }

  suppress(...reasons: Reason[]): Decision {
    return this.result("suppress", null, reasons);
  }

  private result(decision: Decision["decision"], basis: Basis | null, reasons: Reason[]): Decision {
    return {
      decision,
      basis,
      reasons,
      ruleSet: this.ruleSetId,
      evidence: [...this.used.values()]
        .sort((a, b) => a.at - b.at)
        .map((event) => ref(event, this.statedAt)),
      trace: this.trace,
    };
  }
}

const isConsentEvent =
  (topic: string) =>
  (event: EvidenceEvent): event is ConsentGranted | ConsentWithdrawn =>
    (event.kind === "consent-granted" || event.kind === "consent-withdrawn") &&
    event.topic === topic;

const isSuppressionFor =
  (reason: Suppression["reason"]) =>
  (event: EvidenceEvent): boolean =>
    (event.kind === "suppression" || event.kind === "suppression-lifted") &&
    event.reason === reason;

/** An objection to this topic or to all marketing, or a spam complaint. */
const isObjectionTo =
  (topic: string) =>
  (event: EvidenceEvent): event is Objection | Suppression =>
    (event.kind === "objection" && (event.topic === topic || event.topic === ALL_MARKETING)) ||
    (event.kind === "suppression" && event.reason === "spam-complaint");

/** The person's own "stop": it survives an erasure (GDPR Art. 21(3)). */
function isRefusal(event: EvidenceEvent): boolean {
  return (
    event.kind === "objection" ||
    event.kind === "consent-withdrawn" ||
    (event.kind === "suppression" && event.reason === "spam-complaint")
  );
}

function isSpamComplaint(event: Objection | Suppression): boolean {
  return event.kind === "suppression" || event.channel === "spam-complaint";
}

function decideUnder(
  ruleSet: RuleSet,
  country: string,
  allEvents: EvidenceEvent[],
  statedAt: ReadonlyMap<string, number>,
  input: DecisionInput,
): Decision {
  const r = new Reasoning(ruleSetRef(ruleSet), statedAt);
  const { topic, tenant, now, facts } = input;

  if (!input.addressValid) {
    r.step("address", "decided", "not a deliverable e-mail address");
    return r.suppress("invalid-address");
  }

  // Rule 1 — address-level blocks, for every class of message.
  let events = allEvents;
  const erasure = latest(events, (e) => e.kind === "erasure");
  if (erasure) {
    // GDPR Art. 17: only a fresh opt-in after the erasure brings the address
    // back; evidence dated before it is never resurrected (e.g. by an import).
    const after = events.filter((e) => e.at > erasure.at);
    const freshOptIn = after.find((e) => e.kind === "consent-granted");
    r.rest(erasure);
    if (!freshOptIn) {
      r.step("erasure", "decided", `erased on ${r.when(erasure)}; no consent since`, [erasure]);
      return r.suppress("erased");
    }
    r.step(
      "erasure",
      "passed",
      `erased on ${r.when(erasure)}, then a fresh consent on ${isoTime(freshOptIn.at)}; evidence before the erasure gives no basis, but a refusal given before it still stands`,
      [erasure, freshOptIn],
    );
    // A fresh opt-in to one topic does not undo the person's refusals: an
    // objection, spam complaint or withdrawal from before the erasure still
    // stands until a consent to that topic is given after it (rule 3).
    events = events.filter((e) => e.at > erasure.at || isRefusal(e));
  }
  for (const reason of ["restricted", "hard-bounce"] as const) {
    const last = latest(events, isSuppressionFor(reason));
    if (last?.kind === "suppression") {
      r.rest(last);
      r.step(reason, "decided", `${reason} since ${r.when(last)}`, [last]);
      return r.suppress(reason);
    }
    r.step(
      reason,
      "passed",
      last ? `${reason} lifted on ${isoTime(last.at)}` : `no ${reason} suppression`,
      last ? [last] : [],
    );
  }

  // Rule 2 — service messages go on their contractual or legal basis,
  // whatever the marketing preferences.
  if (topic.class === "service") {
    const basis = topic.serviceBasis ?? "contract";
    r.step(
      "service",
      "decided",
      `service topic, sent on ${basis}; marketing objections do not apply`,
    );
    return r.send(basis);
  }

  // Rule 3 — objections (GDPR Art. 21(2)–(3)) and spam complaints. An
  // objection to one topic does not touch the others (seed 004: a refusal
  // affects only the type of message it answers).
  const consentEvents = events.filter(isConsentEvent(topic.id));
  const objection = latest(events, isObjectionTo(topic.id));
  // Set when a refusal still stands for every basis but a consent given after it.
  let consentOnly = false;
  if (objection) {
    const reason: Reason = isSpamComplaint(objection) ? "spam-complaint" : "objected";
    const consentAfter = consentEvents.find(
      (e) => e.kind === "consent-granted" && e.at > objection.at,
    );
    if (!consentAfter) {
      r.rest(objection);
      r.step(
        "objection",
        "decided",
        `${reason === "spam-complaint" ? "spam complaint" : `objection to ${objection.kind === "objection" ? objection.topic : ALL_MARKETING}`} on ${r.when(objection)}; no consent to ${topic.id} since`,
        [objection],
      );
      return r.suppress(reason);
    }
    // A consent given after the objection overrides it for this topic only;
    // the objection still bars every basis other than that consent.
    consentOnly = true;
    r.rest(objection);
    r.step(
      "objection",
      "passed",
      `${reason} on ${r.when(objection)}, overridden by a consent to ${topic.id} on ${isoTime(consentAfter.at)}; only consent may be the basis`,
      [objection, consentAfter],
    );
  } else {
    r.step("objection", "passed", `no objection to ${topic.id} or to all marketing`);
  }

  // Rule 1, for marketing — an erasure also stands as an objection to all
  // marketing (GDPR Art. 17 with Art. 21(3)): a fresh consent re-opens only
  // the topics it names, and on consent alone. The person's own objection,
  // where there is one, was named above as the more specific reason.
  if (erasure) {
    const reopened = consentEvents.find((e) => e.kind === "consent-granted" && e.at > erasure.at);
    if (!reopened) {
      r.step(
        "erasure",
        "decided",
        `erased on ${r.when(erasure)}, which stands as an objection to all marketing; no consent to ${topic.id} since`,
        [erasure],
      );
      return r.suppress("erased");
    }
    consentOnly = true;
    r.step(
      "erasure",
      "passed",
      `erased on ${r.when(erasure)}, which stands as an objection to all marketing; re-opened for ${topic.id} by a consent on ${isoTime(reopened.at)}, so only consent may be the basis`,
      [erasure, reopened],
    );
  }

  // Rule 4 — consent to this topic.
  const lastConsent = consentEvents.at(-1);
  let consentFailures: Reason[] = [];
  if (lastConsent?.kind === "consent-withdrawn") {
    // A person who said stop is not mailed on another ground.
    r.rest(lastConsent);
    r.step(
      "consent",
      "decided",
      `consent to ${topic.id} withdrawn on ${r.when(lastConsent)}; this ends every basis`,
      [lastConsent],
    );
    return r.suppress("consent-withdrawn");
  }
  if (lastConsent) {
    const check = checkConsent(lastConsent, consentEvents, events, ruleSet, country, input);
    if (check.failures.length === 0) {
      r.rest(lastConsent, ...check.supporting);
      r.step("consent", "decided", check.detail, [lastConsent, ...check.supporting]);
      return r.send("consent");
    }
    consentFailures = check.failures;
    r.rest(lastConsent, ...check.supporting);
    r.step("consent", "failed", check.detail, [lastConsent, ...check.supporting]);
  } else {
    r.step("consent", "failed", `no consent to ${topic.id}`);
  }
  if (consentOnly) {
    r.step("no-basis", "decided", "a standing objection bars every basis but a valid consent");
    return r.suppress(...(consentFailures.length > 0 ? consentFailures : ["no-basis" as const]));
  }

  const customers = events.filter((e): e is CustomerRelationship => e.kind === "customer");

  // Rule 5 — soft opt-in (ePrivacy Art. 13(2), Act 480/2004 §7(3), PECR
  // reg. 22(3), UWG §7(3)): own customers, own similar products.
  if (ruleSet.softOptIn) {
    const months = tighten(ruleSet.softOptIn.months, tenant.softOptInMonths);
    const found = softOptIn(customers, topic.categories, months, now);
    if (found.customer) {
      r.rest(found.customer);
      r.step("soft-opt-in", "decided", found.detail, [found.customer]);
      return r.send("legitimate-interest");
    }
    r.step("soft-opt-in", "failed", found.detail, customers);
  } else {
    r.step("soft-opt-in", "skipped", `${ruleSetRef(ruleSet)} has no soft opt-in`);
  }

  // Rule 6 — bases particular to a rule set. None of them reaches a child:
  // below the rule set's age of digital consent (US: 13, COPPA) a person is
  // mailed on nothing but a valid consent — and a child's own consent is not
  // one (rule 4).
  const { optOut, corporateSubscriberExempt, impliedConsent: implied } = ruleSet.regimes;
  if (optOut || corporateSubscriberExempt || implied) {
    const minor = knownMinorAt(now, ruleSet, country, input);
    if (minor) {
      r.step("minor", "decided", minor);
      return r.suppress(...consentFailures, "minor");
    }
  }
  if (optOut) {
    r.step(
      "opt-out-regime",
      "decided",
      "opt-out regime: no consent needed, and no opt-out recorded",
    );
    return r.send("opt-out-regime");
  }
  if (corporateSubscriberExempt) {
    if (facts.subscriberType === "corporate") {
      r.step("corporate-subscriber", "decided", "a corporate subscriber, outside the consent rule");
      return r.send("corporate-subscriber");
    }
    r.step(
      "corporate-subscriber",
      "failed",
      facts.subscriberType === "individual"
        ? "an individual subscriber"
        : "subscriber type unknown, so treated as an individual",
    );
  }
  if (implied) {
    const found = impliedConsent(customers, implied, now);
    if (found) {
      r.rest(found);
      r.step(
        "implied-consent",
        "decided",
        `${found.relationship} on ${isoTime(found.lastAt)}, within ${found.relationship === "purchase" ? implied.purchaseMonths : implied.inquiryMonths} months`,
        [found],
      );
      return r.send("implied-consent");
    }
    r.step(
      "implied-consent",
      "failed",
      customers.length === 0
        ? "no purchase or inquiry"
        : `no purchase within ${implied.purchaseMonths} months and no inquiry within ${implied.inquiryMonths} months`,
      customers,
    );
  }

  // Rule 7 — nothing gives a basis.
  if (consentFailures.length > 0) {
    r.step(
      "no-basis",
      "decided",
      `no lawful basis: the consent is not valid (${consentFailures.join(", ")})`,
    );
    return r.suppress(...consentFailures);
  }
  r.step("no-basis", "decided", "no lawful basis for this topic");
  return r.suppress("no-basis");
}

/**
 * Why the subject is known to be younger than the rule set's age of digital
 * consent now, or null. Where only a birth year is known, the youngest
 * possible age counts (docs/design.md §3 rule 4); a verified age settles it.
 */
function knownMinorAt(
  now: number,
  ruleSet: RuleSet,
  country: string,
  input: DecisionInput,
): string | null {
  const { ageVerified, birthYear } = input.facts;
  if (ageVerified === true || birthYear === null) return null;
  const minimumAge = digitalConsentAge(country, ruleSet);
  const age = youngestAgeAt(birthYear, now);
  if (age >= minimumAge) return null;
  return `possibly ${age} now, below the age of digital consent (${minimumAge}): no basis but a valid consent reaches a child`;
}

/** A tenant may tighten a limit, never loosen it below the law. */
function tighten(lawMonths: number, tenantMonths: number | null): number {
  return tenantMonths === null ? lawMonths : Math.min(lawMonths, tenantMonths);
}

function checkConsent(
  grant: ConsentGranted,
  consentEvents: readonly (ConsentGranted | ConsentWithdrawn)[],
  events: readonly EvidenceEvent[],
  ruleSet: RuleSet,
  country: string,
  input: DecisionInput,
): { failures: Reason[]; supporting: EvidenceEvent[]; detail: string } {
  const failures: Reason[] = [];
  const supporting: EvidenceEvent[] = [];
  const notes: string[] = [`consent to ${grant.topic} by ${grant.method} on ${isoTime(grant.at)}`];

  // GDPR Art. 8: below the age of digital consent a person cannot consent.
  const { ageVerified, birthYear } = input.facts;
  const minimumAge = digitalConsentAge(country, ruleSet);
  if (ageVerified !== true && birthYear !== null) {
    const age = youngestAgeAt(birthYear, grant.at);
    if (age < minimumAge) {
      failures.push("consent-minor");
      notes.push(`possibly ${age} when given, below the age of digital consent (${minimumAge})`);
    }
  }

  // A double opt-in is confirmed by its own confirmation time or by a later
  // confirmation event, for this grant or an earlier one not since withdrawn.
  const confirmation = findConfirmation(grant, consentEvents, events);
  if (confirmation) supporting.push(...confirmation.events);
  const needsConfirmation =
    grant.method === "double-opt-in" ||
    (ruleSet.consent.doubleOptInRequired &&
      !ruleSet.consent.doubleOptInExempt.includes(grant.method));
  if (needsConfirmation && !confirmation) {
    failures.push("consent-unconfirmed");
    notes.push(
      grant.method === "double-opt-in"
        ? "double opt-in not confirmed"
        : `${ruleSetRef(ruleSet)} requires a confirmed double opt-in`,
    );
  } else if (confirmation) {
    notes.push(`confirmed on ${isoTime(confirmation.at)}`);
  }

  // Consent goes stale: its lifetime runs from the later of grant and last
  // engagement (cf. seed 002), as the rule set or a stricter tenant says.
  const months = tighten(ruleSet.consent.lifetimeMonths, input.tenant.consentLifetimeMonths);
  const engagement = latest(events, (e) => e.kind === "engagement" && e.at > grant.at);
  const freshFrom = engagement ? engagement.at : grant.at;
  if (engagement) {
    supporting.push(engagement);
    notes.push(`last engagement on ${isoTime(engagement.at)}`);
  }
  if (input.now > addMonths(freshFrom, months)) {
    failures.push("consent-expired");
    notes.push(`older than ${months} months without engagement`);
  }
  return { failures, supporting, detail: notes.join("; ") };
}

function findConfirmation(
  grant: ConsentGranted,
  consentEvents: readonly (ConsentGranted | ConsentWithdrawn)[],
  events: readonly EvidenceEvent[],
): { at: number; events: EvidenceEvent[] } | null {
  // The run of grants ending with this one, back to the last withdrawal.
  const run: ConsentGranted[] = [];
  for (let i = consentEvents.indexOf(grant); i >= 0; i--) {
    const event = consentEvents[i];
    if (!event || event.kind === "consent-withdrawn") break;
    run.push(event);
  }
  for (const candidate of run) {
    if (candidate.confirmedAt !== null) return { at: candidate.confirmedAt, events: [] };
    const confirmed = events.find(
      (e) => e.kind === "consent-confirmed" && e.consentId === candidate.id,
    );
    if (confirmed) return { at: confirmed.at, events: [confirmed] };
  }
  return null;
}

function softOptIn(
  customers: readonly CustomerRelationship[],
  topicCategories: readonly string[],
  months: number,
  now: number,
): { customer?: CustomerRelationship; detail: string } {
  if (customers.length === 0) return { detail: "not a customer" };
  const failed = new Set<string>();
  for (const customer of [...customers].reverse()) {
    const similar = customer.categories.some((c) => topicCategories.includes(c));
    const problems: string[] = [];
    if (customer.relationship !== "purchase") problems.push("an inquiry is not a sale");
    if (!similar) problems.push("categories not similar to the topic's");
    // ePrivacy Art. 13(2), Act 480/2004 §7(3), PECR reg. 22(3)(c): the
    // opt-out is offered when the contact details are collected. A day's
    // grace covers the confirmation mail after a purchase; an opt-out first
    // offered later does not cure the collection.
    if (customer.optOutOfferedAt === null) problems.push("no opt-out offered at collection");
    else if (customer.optOutOfferedAt > customer.since + DAY_MS) {
      problems.push("opt-out not offered at collection");
    }
    if (now > addMonths(customer.lastAt, months)) {
      problems.push(`last purchase more than ${months} months ago`);
    }
    if (problems.length === 0) {
      return {
        customer,
        detail: `customer since ${isoTime(customer.since)}, last purchase on ${isoTime(customer.lastAt)} of similar products (${customer.categories.filter((c) => topicCategories.includes(c)).join(", ")}), opt-out offered on ${isoTime(customer.optOutOfferedAt ?? customer.since)}`,
      };
    }
    for (const problem of problems) failed.add(problem);
  }
  return { detail: [...failed].join("; ") };
}

function impliedConsent(
  customers: readonly CustomerRelationship[],
  limits: { purchaseMonths: number; inquiryMonths: number },
  now: number,
): CustomerRelationship | undefined {
  for (const customer of [...customers].reverse()) {
    const months =
      customer.relationship === "purchase" ? limits.purchaseMonths : limits.inquiryMonths;
    if (now <= addMonths(customer.lastAt, months)) return customer;
  }
  return undefined;
}
