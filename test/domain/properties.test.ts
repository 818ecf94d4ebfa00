/**
 * Invariants of the decision (docs/design.md §3) over arbitrary evidence histories,
 * subject facts, countries (with and without a rule set of their own) and
 * both policy modes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countsFrom, decide } from "../../src/domain/decision/decide.js";
import type { Decision, DecisionInput } from "../../src/domain/decision/types.js";
import type { EvidenceEvent, SubjectFacts } from "../../src/domain/evidence.js";
import { eu } from "../../src/domain/rule-sets/index.js";
import { basesOf } from "../../src/domain/rule-sets/types.js";
import {
  ALL_MARKETING,
  BASES,
  CONSENT_METHODS,
  ENGAGEMENT_KINDS,
  OBJECTION_CHANNELS,
  POLICY_MODES,
  REASONS,
  type Reason,
  SUBSCRIBER_TYPES,
  SUPPRESSION_REASONS,
} from "../../src/domain/vocabulary.js";
import { DAY, type DecisionTopic } from "./builders.js";

const NOW = Date.parse("2026-06-15T10:00:00Z");
const RUNS = { numRuns: 1000 };

// ---------------------------------------------------------------- topics

const MARKETING: readonly DecisionTopic[] = [
  { id: "tips", class: "marketing", categories: ["accessories"], serviceBasis: null },
  { id: "deals-lenses", class: "marketing", categories: ["lenses"], serviceBasis: null },
  { id: "news", class: "marketing", categories: ["lenses", "cameras"], serviceBasis: null },
];
const SERVICE: readonly DecisionTopic[] = [
  { id: "invoices", class: "service", categories: [], serviceBasis: null },
  { id: "terms", class: "service", categories: [], serviceBasis: "legal-obligation" },
];
/** Topics evidence may name: the marketing ones, and one nobody decides on. */
const EVIDENCE_TOPICS = [...MARKETING.map((t) => t.id), "old-newsletter"] as const;
const CATEGORIES = ["accessories", "lenses", "cameras", "frames"] as const;

/** With and without a rule set of their own; lower case and "UK" as people type them. */
const COUNTRIES = ["CZ", "DE", "GB", "US", "CA", "SK", "FR", "AT", "JP", "BR", "cz", "UK"];

/** The bases the `eu` rule set can give (no opt-out regime, corporate or implied consent). */
const EU_BASES = basesOf(eu);

/** Reasons a service topic may be suppressed for (docs/design.md §3 rules 1–2). */
const SERVICE_BLOCKS: readonly Reason[] = [
  "restricted",
  "hard-bounce",
  "erased",
  "invalid-address",
];

// ------------------------------------------------------------ generators

/** Whole days around now, mostly past, a few in the future; shared anchors make ties. */
const timeArb = fc.oneof(
  { arbitrary: fc.integer({ min: -20, max: 1200 }).map((days) => NOW - days * DAY), weight: 4 },
  {
    arbitrary: fc.constantFrom(NOW - 30 * DAY, NOW - 400 * DAY, NOW - 760 * DAY, NOW),
    weight: 1,
  },
);

/**
 * An event before ids are given: a confirmation names the grant it confirms
 * by an index, resolved once the history is complete.
 */
type Draft =
  | { event: DistributiveOmit<Exclude<EvidenceEvent, { kind: "consent-confirmed" }>, "id"> }
  | { confirms: number; topic: string; at: number };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const consentDraft = (topic: fc.Arbitrary<string>): fc.Arbitrary<Draft> =>
  fc
    .oneof(
      fc.record({
        kind: fc.constant("consent-granted" as const),
        at: timeArb,
        topic,
        method: fc.constantFrom(...CONSENT_METHODS),
        confirmedAt: fc.option(timeArb, { nil: null, freq: 2 }),
      }),
      fc.record({ kind: fc.constant("consent-withdrawn" as const), at: timeArb, topic }),
    )
    .map((event) => ({ event }));

const confirmationDraft = (topic: fc.Arbitrary<string>): fc.Arbitrary<Draft> =>
  fc.record({ confirms: fc.nat(), topic, at: timeArb });

const objectionDraft = (topic: fc.Arbitrary<string>): fc.Arbitrary<Draft> =>
  fc
    .record({
      kind: fc.constant("objection" as const),
      at: timeArb,
      topic,
      channel: fc.constantFrom(...OBJECTION_CHANNELS),
    })
    .map((event) => ({ event }));

const customerDraft: fc.Arbitrary<Draft> = fc
  .record({
    relationship: fc.constantFrom("purchase" as const, "inquiry" as const),
    lastAt: timeArb,
    sinceDays: fc.integer({ min: 0, max: 2000 }),
    categories: fc.subarray([...CATEGORIES]),
    optOutOffered: fc.boolean(),
  })
  .map(({ relationship, lastAt, sinceDays, categories, optOutOffered }) => {
    const since = lastAt - sinceDays * DAY;
    return {
      event: {
        kind: "customer" as const,
        at: lastAt,
        relationship,
        lastAt,
        since,
        categories,
        optOutOfferedAt: optOutOffered ? since : null,
      },
    };
  });

const suppressionDraft: fc.Arbitrary<Draft> = fc
  .record({
    kind: fc.constantFrom("suppression" as const, "suppression-lifted" as const),
    at: timeArb,
    reason: fc.constantFrom(...SUPPRESSION_REASONS),
  })
  .map((event) => ({ event }));

const engagementDraft: fc.Arbitrary<Draft> = fc
  .record({
    kind: fc.constant("engagement" as const),
    at: timeArb,
    engagement: fc.constantFrom(...ENGAGEMENT_KINDS),
  })
  .map((event) => ({ event }));

const erasureDraft: fc.Arbitrary<Draft> = fc
  .record({ kind: fc.constant("erasure" as const), at: timeArb })
  .map((event) => ({ event }));

const anyTopic = fc.constantFrom(...EVIDENCE_TOPICS);

const draftArb: fc.Arbitrary<Draft> = fc.oneof(
  { arbitrary: consentDraft(anyTopic), weight: 5 },
  { arbitrary: confirmationDraft(anyTopic), weight: 1 },
  { arbitrary: objectionDraft(fc.constantFrom(...EVIDENCE_TOPICS, ALL_MARKETING)), weight: 2 },
  { arbitrary: customerDraft, weight: 3 },
  { arbitrary: suppressionDraft, weight: 2 },
  { arbitrary: engagementDraft, weight: 2 },
  { arbitrary: erasureDraft, weight: 1 },
);

/** Histories with nothing that blocks the address: where the rule sets differ most. */
const basisDraftArb: fc.Arbitrary<Draft> = fc.oneof(
  { arbitrary: consentDraft(anyTopic), weight: 4 },
  { arbitrary: confirmationDraft(anyTopic), weight: 1 },
  { arbitrary: customerDraft, weight: 3 },
  { arbitrary: engagementDraft, weight: 2 },
);

/** Gives every event a unique id, and every confirmation a grant to confirm. */
function complete(drafts: readonly Draft[], prefix = "ev"): EvidenceEvent[] {
  const ids = drafts.map((_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
  return drafts.map((draft, i): EvidenceEvent => {
    const id = ids[i] ?? `${prefix}-${i}`;
    if ("event" in draft) return { ...draft.event, id } as EvidenceEvent;
    const grants = drafts.flatMap((other, j) =>
      "event" in other &&
      other.event.kind === "consent-granted" &&
      other.event.topic === draft.topic
        ? [ids[j] ?? ""]
        : [],
    );
    const consentId = grants[draft.confirms % (grants.length + 1)] ?? `${prefix}-unknown`;
    return { id, kind: "consent-confirmed", at: draft.at, topic: draft.topic, consentId };
  });
}

/**
 * A history crowded into three instants, so that many events tie: the order
 * they are given in must still not matter.
 */
function crowd(events: readonly EvidenceEvent[]): EvidenceEvent[] {
  const instants = [NOW - 10 * DAY, NOW - 200 * DAY, NOW - 500 * DAY];
  return events.map((event, i): EvidenceEvent => {
    const at = instants[i % instants.length] ?? NOW;
    if (event.kind === "customer") return { ...event, at, lastAt: at, since: at };
    return { ...event, at };
  });
}

const historyArb = (drafts: fc.Arbitrary<Draft> = draftArb) => {
  const spread = fc.array(drafts, { maxLength: 14 }).map((list) => complete(list));
  return fc.oneof({ arbitrary: spread, weight: 3 }, { arbitrary: spread.map(crowd), weight: 1 });
};

const factsArb: fc.Arbitrary<SubjectFacts> = fc.record({
  country: fc.option(fc.constantFrom(...COUNTRIES), { nil: null, freq: 2 }),
  subscriberType: fc.option(fc.constantFrom(...SUBSCRIBER_TYPES), { nil: null, freq: 2 }),
  birthYear: fc.option(fc.integer({ min: 1940, max: 2022 }), { nil: null, freq: 2 }),
  ageVerified: fc.option(fc.boolean(), { nil: null, freq: 2 }),
});

const tenantArb: fc.Arbitrary<DecisionInput["tenant"]> = fc.record({
  defaultCountry: fc.constantFrom(...COUNTRIES),
  mode: fc.constantFrom(...POLICY_MODES),
  consentLifetimeMonths: fc.option(fc.integer({ min: 1, max: 48 }), { nil: null, freq: 2 }),
  softOptInMonths: fc.option(fc.integer({ min: 1, max: 48 }), { nil: null, freq: 2 }),
});

const topicArb = (topics: readonly DecisionTopic[] = [...MARKETING, ...SERVICE]) =>
  fc.constantFrom(...topics);

const inputArb = (
  options: { topic?: fc.Arbitrary<DecisionTopic>; evidence?: fc.Arbitrary<EvidenceEvent[]> } = {},
): fc.Arbitrary<DecisionInput> =>
  fc.record({
    addressValid: fc.oneof(
      { arbitrary: fc.constant(true), weight: 19 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
    topic: options.topic ?? topicArb(),
    facts: factsArb,
    evidence: options.evidence ?? historyArb(),
    tenant: tenantArb,
    now: fc.constant(NOW),
  });

// --------------------------------------------------------------- helpers

/** The decision without its trace: what the caller acts on and records. */
function outcome(decision: Decision) {
  const { trace: _trace, ...rest } = decision;
  return rest;
}

const isConsentEventOf = (topic: string) => (event: EvidenceEvent) =>
  (event.kind === "consent-granted" || event.kind === "consent-withdrawn") && event.topic === topic;

// ------------------------------------------------------------ properties

describe("the generators", () => {
  it("reach every basis and every reason", () => {
    const seen = new Set<string>();
    for (const input of fc.sample(inputArb(), { numRuns: 3000, seed: 42 })) {
      const result = decide(input);
      if (result.basis) seen.add(result.basis);
      for (const reason of result.reasons) seen.add(reason);
    }
    // `cancelled` is no decision's reason: only a cancelled send's superseding
    // justification carries it (DELETE /v1/messages/{id}).
    const decisionReasons = REASONS.filter((reason) => reason !== "cancelled");
    expect([...seen].sort()).toEqual([...BASES, ...decisionReasons].sort());
  });
});

describe("decide", () => {
  it("(a) an objection newer than every consent event of the topic suppresses its marketing", () => {
    fc.assert(
      fc.property(
        inputArb({ topic: topicArb(MARKETING) }),
        fc.constantFrom(null, ALL_MARKETING),
        fc.integer({ min: 0, max: 1200 }),
        fc.constantFrom(...OBJECTION_CHANNELS),
        (input, scope, daysAgo, channel) => {
          const at = NOW - daysAgo * DAY;
          const isConsentEvent = isConsentEventOf(input.topic.id);
          const evidence: EvidenceEvent[] = [
            ...input.evidence.filter((event) => !(isConsentEvent(event) && event.at >= at)),
            { id: "the-objection", kind: "objection", at, topic: scope ?? input.topic.id, channel },
          ];
          const result = decide({ ...input, evidence });
          expect(result.decision).toBe("suppress");
          expect(result.basis).toBeNull();
        },
      ),
      RUNS,
    );
  });

  it("(a′) …and names that objection as the reason when nothing blocks the address first", () => {
    fc.assert(
      fc.property(
        inputArb({
          topic: topicArb(MARKETING),
          evidence: historyArb(basisDraftArb),
        }),
        fc.constantFrom(null, ALL_MARKETING),
        fc.integer({ min: 0, max: 1200 }),
        (input, scope, daysAgo) => {
          const at = NOW - daysAgo * DAY;
          const isConsentEvent = isConsentEventOf(input.topic.id);
          const evidence: EvidenceEvent[] = [
            ...input.evidence.filter((event) => !(isConsentEvent(event) && event.at >= at)),
            {
              id: "the-objection",
              kind: "objection",
              at,
              topic: scope ?? input.topic.id,
              channel: "one-click",
            },
          ];
          const result = decide({ ...input, addressValid: true, evidence });
          expect(result.reasons).toEqual(["objected"]);
          expect(result.evidence.map((ref) => ref.id)).toEqual(["the-objection"]);
        },
      ),
      RUNS,
    );
  });

  it("(b) marketing objections and spam complaints never block a service topic", () => {
    const isMarketingPreference = (event: EvidenceEvent) =>
      event.kind === "objection" ||
      event.kind === "consent-withdrawn" ||
      (event.kind === "suppression" && event.reason === "spam-complaint");
    fc.assert(
      fc.property(inputArb({ topic: topicArb(SERVICE) }), (input) => {
        const result = decide(input);
        if (result.decision === "suppress") {
          expect(result.reasons.length).toBeGreaterThan(0);
          for (const reason of result.reasons) expect(SERVICE_BLOCKS).toContain(reason);
        } else {
          expect(result.basis).toBe(input.topic.serviceBasis ?? "contract");
        }
        const without = decide({
          ...input,
          evidence: input.evidence.filter((event) => !isMarketingPreference(event)),
        });
        expect(outcome(without)).toEqual(outcome(result));
      }),
      RUNS,
    );
  });

  it("(c) evidence about another topic never changes a decision", () => {
    fc.assert(
      fc.property(
        inputArb({ topic: topicArb() }),
        fc.array(
          fc.oneof(consentDraft(anyTopic), confirmationDraft(anyTopic), objectionDraft(anyTopic)),
          { minLength: 1, maxLength: 6 },
        ),
        (input, drafts) => {
          const others = complete(drafts, "other").filter(
            (event) => "topic" in event && event.topic !== input.topic.id,
          );
          const before = decide(input);
          const after = decide({ ...input, evidence: [...input.evidence, ...others] });
          // The one exception by design (docs/design.md §3 rule 1): a consent to any
          // topic given after an erasure is the fresh opt-in that lifts the
          // address-level block. For marketing the erasure still stands as an
          // objection to every topic that consent does not name (GDPR Art. 17
          // with Art. 21(3)): still suppressed, if perhaps for a block the
          // erasure had hidden (a restriction, a hard bounce).
          const lastErasure = Math.max(
            ...input.evidence.filter((e) => e.kind === "erasure" && e.at <= NOW).map((e) => e.at),
          );
          const freshOptIn = others.some(
            (e) => e.kind === "consent-granted" && e.at > lastErasure && e.at <= NOW,
          );
          if (before.reasons.includes("erased") && freshOptIn) {
            if (input.topic.class === "service") expect(after.reasons).not.toContain("erased");
            else expect(after.decision).toBe("suppress");
            return;
          }
          expect(outcome(after)).toEqual(outcome(before));
        },
      ),
      RUNS,
    );
  });

  it("(d) the order evidence is given in never matters, only when it happened", () => {
    fc.assert(
      fc.property(
        inputArb().chain((input) =>
          fc.tuple(
            fc.constant(input),
            fc.shuffledSubarray([...input.evidence], {
              minLength: input.evidence.length,
              maxLength: input.evidence.length,
            }),
          ),
        ),
        ([input, shuffled]) => {
          expect(decide({ ...input, evidence: shuffled })).toEqual(decide(input));
          expect(decide({ ...input, evidence: [...input.evidence].reverse() })).toEqual(
            decide(input),
          );
        },
      ),
      RUNS,
    );
  });

  it("(e) strict mode never sends where jurisdictional mode suppresses", () => {
    fc.assert(
      fc.property(
        fc.oneof(inputArb(), inputArb({ evidence: historyArb(basisDraftArb) })),
        (input) => {
          const jurisdictional = decide({
            ...input,
            tenant: { ...input.tenant, mode: "jurisdictional" },
          });
          const strict = decide({ ...input, tenant: { ...input.tenant, mode: "strict" } });
          if (jurisdictional.decision === "suppress") {
            expect(strict.decision).toBe("suppress");
          }
          if (strict.decision === "send") {
            // …and where it sends, it is on a basis the EU rules know.
            expect(EU_BASES).toContain(strict.basis);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("(f) a send has a basis and no reasons, a suppress reasons and no basis, all in the stable lists", () => {
    fc.assert(
      fc.property(inputArb(), (input) => {
        const result = decide(input);
        if (result.decision === "send") {
          expect(BASES).toContain(result.basis);
          expect(result.reasons).toEqual([]);
        } else {
          expect(result.decision).toBe("suppress");
          expect(result.basis).toBeNull();
          expect(result.reasons.length).toBeGreaterThan(0);
          for (const reason of result.reasons) expect(REASONS).toContain(reason);
          expect(new Set(result.reasons).size).toBe(result.reasons.length);
        }
        expect(result.ruleSet).toMatch(/^[a-z]+@\d+(\+eu@\d+)?$/);
      }),
      RUNS,
    );
  });

  it("(g) every evidence id in the result exists in the input, as given", () => {
    fc.assert(
      fc.property(inputArb(), (input) => {
        const result = decide(input);
        const byId = new Map(input.evidence.map((event) => [event.id, event]));
        for (const ref of result.evidence) {
          const event = byId.get(ref.id);
          expect(event).toBeDefined();
          expect(ref.kind).toBe(event?.kind);
          expect(ref.at).toBe(new Date(event?.at ?? Number.NaN).toISOString());
          // Nothing dated after now is rested on: it has not happened yet
          // (a stop dated ahead counts from when it was recorded).
          expect(event && countsFrom(event)).toBeLessThanOrEqual(NOW);
        }
        expect(new Set(result.evidence.map((ref) => ref.id)).size).toBe(result.evidence.length);
        for (const step of result.trace) {
          for (const id of step.evidence ?? []) expect(byId.has(id)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("(h) a stop recorded at time t suppresses every decision made after t, whatever date it carries", () => {
    // docs/design.md §2 "When an event happened": a withdrawal, objection, complaint,
    // suppression or erasure dated up to 5 minutes ahead of the gateway's
    // clock counts from the moment it is recorded (GDPR Art. 7(3), 21(3)).
    // Every other event happened before it; the stop is dated anywhere from
    // the latest of them to the 5 minutes ahead the gateway accepts.
    const MINUTE = 60_000;
    const stopArb = (topic: DecisionTopic) =>
      topic.class === "service"
        ? fc.oneof(
            fc.record({
              kind: fc.constant("suppression" as const),
              reason: fc.constantFrom("hard-bounce" as const, "restricted" as const),
            }),
            fc.record({ kind: fc.constant("erasure" as const) }),
          )
        : fc.oneof(
            fc.record({
              kind: fc.constant("objection" as const),
              topic: fc.constantFrom(topic.id, ALL_MARKETING),
              channel: fc.constantFrom(...OBJECTION_CHANNELS),
            }),
            fc.record({
              kind: fc.constant("consent-withdrawn" as const),
              topic: fc.constant(topic.id),
            }),
            fc.record({
              kind: fc.constant("suppression" as const),
              reason: fc.constantFrom(...SUPPRESSION_REASONS),
            }),
            fc.record({ kind: fc.constant("erasure" as const) }),
          );
    fc.assert(
      fc.property(
        inputArb().chain((input) =>
          fc.tuple(
            fc.constant(input),
            stopArb(input.topic),
            fc.integer({ min: 0, max: 30 * 24 * 60 }),
            fc.double({ min: 0, max: 1, noNaN: true }),
            fc.oneof(
              fc.integer({ min: 0, max: 10 * MINUTE }),
              fc.integer({ min: 0, max: 1000 }).map((days) => days * DAY),
            ),
          ),
        ),
        ([input, stop, minutesBefore, where, after]) => {
          const t = NOW - minutesBefore * MINUTE;
          const before = input.evidence.filter((event) => event.at <= t);
          const latest = Math.max(t - 400 * DAY, ...before.map((event) => event.at));
          // From the latest other event up to 5 minutes ahead of the clock at t.
          const dated = Math.round(latest + where * (t + 5 * MINUTE - latest));
          const evidence: EvidenceEvent[] = [
            ...before,
            { ...stop, id: "the-stop", at: dated, recordedAt: t } as EvidenceEvent,
          ];
          for (const now of [t, t + after]) {
            const result = decide({ ...input, addressValid: true, evidence, now });
            expect(result.decision).toBe("suppress");
            // Where it alone stands in the way, the decision rests on it.
            const without = decide({ ...input, addressValid: true, evidence: before, now });
            if (without.decision === "send") {
              expect(result.evidence.map((ref) => ref.id)).toContain("the-stop");
            }
          }
          // Dated ahead, it is no part of a decision made before it was recorded.
          if (dated > t) {
            const earlier = decide({ ...input, evidence, now: t - 1 });
            expect(earlier.evidence.map((ref) => ref.id)).not.toContain("the-stop");
          }
        },
      ),
      RUNS,
    );
  });

  it("is pure: it neither mutates its input nor depends on evidence dated after now", () => {
    fc.assert(
      fc.property(inputArb(), historyArb(), (input, later) => {
        const frozen = structuredClone(input);
        const result = decide(input);
        expect(input).toEqual(frozen);
        const future = later.map((event, i) => ({
          ...event,
          id: `future-${i}`,
          at: NOW + 1 + Math.abs(NOW - event.at),
        }));
        const withFuture = decide({ ...input, evidence: [...input.evidence, ...future] });
        expect(outcome(withFuture)).toEqual(outcome(result));
      }),
      RUNS,
    );
  });
});
