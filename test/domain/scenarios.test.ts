/**
 * The worked examples of SCENARIOS.md (docs/design.md §3), one test each, then a few
 * neighbours of the table that pin down its edges. The tenant's default
 * country is CZ and its mode jurisdictional unless a scenario says otherwise.
 */
import { describe, expect, it } from "vitest";
import { decide } from "../../src/domain/decision/decide.js";
import type { Decision, DecisionInput, TraceStep } from "../../src/domain/decision/types.js";
import type { EvidenceEvent, SubjectFacts } from "../../src/domain/evidence.js";
import { addMonths } from "../../src/domain/time.js";
import type { Basis, PolicyMode, Reason } from "../../src/domain/vocabulary.js";
import {
  confirmed,
  customer,
  DAY,
  type DecisionTopic,
  engagement,
  erasure,
  facts,
  granted,
  lifted,
  objection,
  suppression,
  TENANT,
  TOPICS,
  type TopicId,
  withdrawn,
} from "./builders.js";

const NOW = Date.parse("2026-06-15T10:00:00Z");
const monthsAgo = (months: number) => addMonths(NOW, -months);
const daysAgo = (days: number) => NOW - days * DAY;

interface Scenario {
  name: string;
  subject: Partial<SubjectFacts>;
  evidence: EvidenceEvent[];
  topic: TopicId | DecisionTopic;
  mode?: PolicyMode;
  tenant?: Partial<DecisionInput["tenant"]>;
  addressValid?: boolean;
  /** A step the trace must show: which rule failed or decided, and why. */
  because?: { rule: TraceStep["rule"]; outcome: TraceStep["outcome"]; detail: RegExp };
  expected: {
    decision: Decision["decision"];
    basis: Basis | null;
    reasons: Reason[];
    ruleSet: string;
    /** Ids of the events the decision rested on, oldest first. */
    evidence: string[];
  };
}

function run(scenario: Scenario): Decision {
  return decide({
    addressValid: scenario.addressValid ?? true,
    topic: typeof scenario.topic === "string" ? TOPICS[scenario.topic] : scenario.topic,
    facts: facts(scenario.subject),
    evidence: scenario.evidence,
    tenant: { ...TENANT, ...scenario.tenant, mode: scenario.mode ?? "jurisdictional" },
    now: NOW,
  });
}

function check(scenario: Scenario): void {
  const result = run(scenario);
  const { expected } = scenario;
  expect({
    decision: result.decision,
    basis: result.basis,
    reasons: result.reasons,
    ruleSet: result.ruleSet,
    evidence: result.evidence.map((ref) => ref.id),
  }).toEqual(expected);
  // Every reference names the event as it was given.
  const byId = new Map(scenario.evidence.map((event) => [event.id, event]));
  for (const ref of result.evidence) {
    const event = byId.get(ref.id);
    expect(event?.kind).toBe(ref.kind);
    expect(event && new Date(event.at).toISOString()).toBe(ref.at);
  }
  if (scenario.because) {
    const { rule, outcome, detail } = scenario.because;
    expect(result.trace).toContainEqual(
      expect.objectContaining({ rule, outcome, detail: expect.stringMatching(detail) }),
    );
  }
  // The trace's last step was taken under the rule set named (or one of its parts).
  expect([expected.ruleSet, ...expected.ruleSet.split("+")]).toContain(
    result.trace.at(-1)?.ruleSet,
  );
}

const send = (basis: Basis, ruleSet: string, evidence: string[] = []): Scenario["expected"] => ({
  decision: "send",
  basis,
  reasons: [],
  ruleSet,
  evidence,
});

const suppress = (
  reason: Reason,
  ruleSet: string,
  evidence: string[] = [],
): Scenario["expected"] => ({
  decision: "suppress",
  basis: null,
  reasons: [reason],
  ruleSet,
  evidence,
});

const CZ = { country: "CZ" } as const;

/** Scenarios 8–11: a customer who bought lenses 10 months ago. */
const lensCustomer = (optOutOffered: boolean) =>
  customer("purchase", {
    relationship: "purchase",
    lastAt: monthsAgo(10),
    categories: ["lenses"],
    optOutOfferedAt: optOutOffered ? monthsAgo(10) : null,
  });

/** Scenario 16: a double opt-in, confirmed an hour later. */
const doubleOptIn = granted("consent", "tips", monthsAgo(2), { method: "double-opt-in" });

/** Scenarios 24–25: consent 14 months ago, erasure 6 months ago. */
const oldConsent = granted("consent-old", "tips", monthsAgo(14));
const erased = erasure("erasure", monthsAgo(6));

const TABLE: Scenario[] = [
  {
    name: "1. CZ individual, consent to tips by web form 2 months ago → send on consent",
    subject: { country: "CZ", subscriberType: "individual" },
    evidence: [granted("consent", "tips", monthsAgo(2), { method: "web-form" })],
    topic: "tips",
    expected: send("consent", "cz@1", ["consent"]),
  },
  {
    name: "2. CZ, consent to deals-lenses only → tips has no basis",
    subject: CZ,
    evidence: [granted("consent", "deals-lenses", monthsAgo(2))],
    topic: "tips",
    expected: suppress("no-basis", "cz@1"),
  },
  {
    name: "3. CZ, consent to tips 26 months ago, no engagement since → consent expired",
    subject: CZ,
    evidence: [granted("consent", "tips", monthsAgo(26))],
    topic: "tips",
    expected: suppress("consent-expired", "cz@1", ["consent"]),
  },
  {
    name: "4. CZ, consent to tips 26 months ago, an open 5 months ago → send on consent",
    subject: CZ,
    evidence: [granted("consent", "tips", monthsAgo(26)), engagement("open", monthsAgo(5))],
    topic: "tips",
    expected: send("consent", "cz@1", ["consent", "open"]),
  },
  {
    name: "5. CZ, consent to tips, later an objection to deals-lenses → tips still sent on consent",
    subject: CZ,
    evidence: [
      granted("consent", "tips", monthsAgo(4)),
      objection("objection", "deals-lenses", monthsAgo(1)),
    ],
    topic: "tips",
    expected: send("consent", "cz@1", ["consent"]),
  },
  {
    name: "6. CZ, objection to all marketing 3 months ago → invoices sent on contract",
    subject: CZ,
    evidence: [objection("objection", "*", monthsAgo(3))],
    topic: "invoices",
    expected: send("contract", "cz@1"),
  },
  {
    name: "7. CZ, objection to all marketing, then consent to tips last week → send on consent",
    subject: CZ,
    evidence: [objection("objection", "*", monthsAgo(3)), granted("consent", "tips", daysAgo(7))],
    topic: "tips",
    expected: send("consent", "cz@1", ["objection", "consent"]),
  },
  {
    name: "8. CZ customer, lenses bought 10 months ago, opt-out offered → deals-lenses on legitimate interest",
    subject: CZ,
    evidence: [lensCustomer(true)],
    topic: "deals-lenses",
    expected: send("legitimate-interest", "cz@1", ["purchase"]),
  },
  {
    name: "9. the same customer → tips has no basis (accessories are not similar to lenses)",
    subject: CZ,
    evidence: [lensCustomer(true)],
    topic: "tips",
    because: { rule: "soft-opt-in", outcome: "failed", detail: /categories not similar/ },
    expected: suppress("no-basis", "cz@1"),
  },
  {
    name: "10. the same customer, no opt-out offered at checkout → deals-lenses has no basis",
    subject: CZ,
    evidence: [lensCustomer(false)],
    topic: "deals-lenses",
    because: { rule: "soft-opt-in", outcome: "failed", detail: /no opt-out offered/ },
    expected: suppress("no-basis", "cz@1"),
  },
  {
    name: "11. the same customer, consent to deals-lenses withdrawn last month → consent withdrawn",
    subject: CZ,
    evidence: [lensCustomer(true), withdrawn("withdrawal", "deals-lenses", monthsAgo(1))],
    topic: "deals-lenses",
    expected: suppress("consent-withdrawn", "cz@1", ["withdrawal"]),
  },
  {
    name: "12. SK corporate, no evidence → eu rules, no basis (no B2B exemption)",
    subject: { country: "SK", subscriberType: "corporate" },
    evidence: [],
    topic: "tips",
    expected: suppress("no-basis", "eu@1"),
  },
  {
    name: "13. GB corporate, no evidence → send as a corporate subscriber",
    subject: { country: "GB", subscriberType: "corporate" },
    evidence: [],
    topic: "tips",
    expected: send("corporate-subscriber", "uk@1"),
  },
  {
    name: "14. GB individual, no evidence → no basis",
    subject: { country: "GB", subscriberType: "individual" },
    evidence: [],
    topic: "tips",
    expected: suppress("no-basis", "uk@1"),
  },
  {
    name: "15. DE, consent to tips by web form, never confirmed → consent unconfirmed",
    subject: { country: "DE" },
    evidence: [granted("consent", "tips", monthsAgo(2), { method: "web-form" })],
    topic: "tips",
    expected: suppress("consent-unconfirmed", "de@1", ["consent"]),
  },
  {
    name: "16. DE, consent to tips by double opt-in, confirmed → send on consent",
    subject: { country: "DE" },
    evidence: [doubleOptIn, confirmed("confirmation", doubleOptIn, monthsAgo(2) + 3_600_000)],
    topic: "tips",
    expected: send("consent", "de@1", ["consent", "confirmation"]),
  },
  {
    name: "17. US, no evidence → send under the opt-out regime",
    subject: { country: "US" },
    evidence: [],
    topic: "tips",
    expected: send("opt-out-regime", "us@1"),
  },
  {
    name: "18. US, tenant mode strict, no evidence → no basis (the EU rules must also allow it)",
    subject: { country: "US" },
    evidence: [],
    topic: "tips",
    mode: "strict",
    because: { rule: "strict-mode", outcome: "decided", detail: /us@1 allows it, but eu@1/ },
    expected: suppress("no-basis", "us@1+eu@1"),
  },
  {
    name: "19. CA, inquiry 3 months ago → send on implied consent",
    subject: { country: "CA" },
    evidence: [
      customer("inquiry", {
        relationship: "inquiry",
        lastAt: monthsAgo(3),
        categories: [],
        optOutOfferedAt: null,
      }),
    ],
    topic: "tips",
    expected: send("implied-consent", "ca@1", ["inquiry"]),
  },
  {
    name: "20. CA, inquiry 7 months ago → no basis (an inquiry implies consent for 6 months)",
    subject: { country: "CA" },
    evidence: [
      customer("inquiry", {
        relationship: "inquiry",
        lastAt: monthsAgo(7),
        categories: [],
        optOutOfferedAt: null,
      }),
    ],
    topic: "tips",
    expected: suppress("no-basis", "ca@1"),
  },
  {
    name: "21. CZ, hard bounce last month → invoices suppressed too",
    subject: CZ,
    evidence: [suppression("bounce", "hard-bounce", monthsAgo(1))],
    topic: "invoices",
    expected: suppress("hard-bounce", "cz@1", ["bounce"]),
  },
  {
    name: "22. CZ, spam complaint last month → tips suppressed",
    subject: CZ,
    evidence: [suppression("complaint", "spam-complaint", monthsAgo(1))],
    topic: "tips",
    expected: suppress("spam-complaint", "cz@1", ["complaint"]),
  },
  {
    name: "23. CZ, at most 13 when consenting (the CZ age is 15) → consent of a minor",
    subject: { country: "CZ", birthYear: 2013 },
    evidence: [granted("consent", "tips", monthsAgo(2))],
    topic: "tips",
    expected: suppress("consent-minor", "cz@1", ["consent"]),
  },
  {
    name: "24. CZ, consent, erasure, then a fresh consent after the erasure → send on consent",
    subject: CZ,
    evidence: [oldConsent, erased, granted("consent-new", "tips", monthsAgo(1))],
    topic: "tips",
    expected: send("consent", "cz@1", ["erasure", "consent-new"]),
  },
  {
    name: "25. CZ, consent, erasure, then an import of the old consent dated before it → erased",
    subject: CZ,
    evidence: [
      oldConsent,
      erased,
      granted("consent-imported", "tips", monthsAgo(14), { method: "import" }),
    ],
    topic: "tips",
    expected: suppress("erased", "cz@1", ["erasure"]),
  },
];

describe("SCENARIOS.md", () => {
  it("has all 25 worked examples", () => {
    expect(TABLE.map((scenario) => Number.parseInt(scenario.name, 10))).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
  });

  it.each(TABLE.map((scenario) => [scenario.name, scenario] as const))("%s", (_, scenario) => {
    check(scenario);
  });
});

describe("around the table", () => {
  const cases: Scenario[] = [
    {
      name: "a subject of unknown country is decided under the tenant's default country (CZ)",
      subject: {},
      evidence: [],
      topic: "tips",
      expected: suppress("no-basis", "cz@1"),
    },
    {
      name: "a subject of unknown country with a consent to tips: decided under cz",
      subject: {},
      evidence: [granted("consent", "tips", monthsAgo(2))],
      topic: "tips",
      expected: send("consent", "cz@1", ["consent"]),
    },
    {
      name: "scenario 16 with the confirmation time on the consent itself",
      subject: { country: "DE" },
      evidence: [
        granted("consent", "tips", monthsAgo(2), {
          method: "double-opt-in",
          confirmedAt: monthsAgo(2) + 60_000,
        }),
      ],
      topic: "tips",
      expected: send("consent", "de@1", ["consent"]),
    },
    {
      name: "DE, consent given on paper needs no double opt-in",
      subject: { country: "DE" },
      evidence: [granted("consent", "tips", monthsAgo(2), { method: "paper" })],
      topic: "tips",
      expected: send("consent", "de@1", ["consent"]),
    },
    {
      name: "CZ, a double opt-in never confirmed does not count even where the law asks none",
      subject: CZ,
      evidence: [granted("consent", "tips", monthsAgo(2), { method: "double-opt-in" })],
      topic: "tips",
      expected: suppress("consent-unconfirmed", "cz@1", ["consent"]),
    },
    {
      name: "scenario 22 as an objection received through the spam-complaint channel",
      subject: CZ,
      evidence: [objection("complaint", "*", monthsAgo(1), "spam-complaint")],
      topic: "tips",
      expected: suppress("spam-complaint", "cz@1", ["complaint"]),
    },
    {
      name: "CZ, objection to tips → tips suppressed as objected",
      subject: CZ,
      evidence: [
        granted("consent", "tips", monthsAgo(4)),
        objection("objection", "tips", monthsAgo(1)),
      ],
      topic: "tips",
      expected: suppress("objected", "cz@1", ["objection"]),
    },
    {
      name: "an objection at the very instant of a consent wins (stop outranks go)",
      subject: CZ,
      evidence: [
        granted("consent", "tips", monthsAgo(1)),
        objection("objection", "tips", monthsAgo(1)),
      ],
      topic: "tips",
      expected: suppress("objected", "cz@1", ["objection"]),
    },
    {
      name: "a spam complaint does not block a service topic",
      subject: CZ,
      evidence: [suppression("complaint", "spam-complaint", monthsAgo(1))],
      topic: "invoices",
      expected: send("contract", "cz@1"),
    },
    {
      name: "a service topic on a legal obligation is sent on it",
      subject: CZ,
      evidence: [objection("objection", "*", monthsAgo(1))],
      topic: {
        id: "terms",
        class: "service",
        categories: [],
        serviceBasis: "legal-obligation",
      },
      expected: send("legal-obligation", "cz@1"),
    },
    {
      name: "a restriction (Art. 18) blocks service topics",
      subject: CZ,
      evidence: [suppression("restriction", "restricted", monthsAgo(1))],
      topic: "invoices",
      expected: suppress("restricted", "cz@1", ["restriction"]),
    },
    {
      name: "a lifted restriction no longer blocks",
      subject: CZ,
      evidence: [
        suppression("restriction", "restricted", monthsAgo(2)),
        lifted("lift", "restricted", monthsAgo(1)),
      ],
      topic: "invoices",
      expected: send("contract", "cz@1"),
    },
    {
      name: "an undeliverable address is suppressed for every class",
      subject: CZ,
      evidence: [],
      topic: "invoices",
      addressValid: false,
      expected: suppress("invalid-address", "cz@1"),
    },
    {
      name: "an erasure blocks service topics too",
      subject: CZ,
      evidence: [erased],
      topic: "invoices",
      expected: suppress("erased", "cz@1", ["erasure"]),
    },
    {
      name: "CZ, of age when consenting (youngest possible age 15) → send on consent",
      subject: { country: "CZ", birthYear: 2010 },
      evidence: [granted("consent", "tips", monthsAgo(2))],
      topic: "tips",
      expected: send("consent", "cz@1", ["consent"]),
    },
    {
      name: "scenario 23 with the age verified → send on consent",
      subject: { country: "CZ", birthYear: 2013, ageVerified: true },
      evidence: [granted("consent", "tips", monthsAgo(2))],
      topic: "tips",
      expected: send("consent", "cz@1", ["consent"]),
    },
    {
      name: "a consent withdrawn ends the soft opt-in too (8 with a withdrawal after a grant)",
      subject: CZ,
      evidence: [
        lensCustomer(true),
        granted("consent", "deals-lenses", monthsAgo(9)),
        withdrawn("withdrawal", "deals-lenses", monthsAgo(1)),
      ],
      topic: "deals-lenses",
      expected: suppress("consent-withdrawn", "cz@1", ["withdrawal"]),
    },
    {
      name: "a consent given again after a withdrawal counts",
      subject: CZ,
      evidence: [
        granted("consent", "tips", monthsAgo(9)),
        withdrawn("withdrawal", "tips", monthsAgo(5)),
        granted("consent-again", "tips", monthsAgo(1)),
      ],
      topic: "tips",
      expected: send("consent", "cz@1", ["consent-again"]),
    },
    {
      name: "an inquiry is not a sale: no soft opt-in in CZ",
      subject: CZ,
      evidence: [
        customer("inquiry", {
          relationship: "inquiry",
          lastAt: monthsAgo(1),
          categories: ["lenses"],
          optOutOfferedAt: monthsAgo(1),
        }),
      ],
      topic: "deals-lenses",
      because: { rule: "soft-opt-in", outcome: "failed", detail: /an inquiry is not a sale/ },
      expected: suppress("no-basis", "cz@1"),
    },
    {
      name: "the soft opt-in ends 24 months after the last purchase",
      subject: CZ,
      evidence: [
        customer("purchase", {
          relationship: "purchase",
          lastAt: monthsAgo(25),
          categories: ["lenses"],
          optOutOfferedAt: monthsAgo(25),
        }),
      ],
      topic: "deals-lenses",
      expected: suppress("no-basis", "cz@1"),
    },
    {
      name: "a tenant may shorten the soft opt-in window",
      subject: CZ,
      evidence: [lensCustomer(true)],
      topic: "deals-lenses",
      tenant: { softOptInMonths: 6 },
      expected: suppress("no-basis", "cz@1"),
    },
    {
      name: "a tenant may shorten the consent lifetime",
      subject: CZ,
      evidence: [granted("consent", "tips", monthsAgo(14))],
      topic: "tips",
      tenant: { consentLifetimeMonths: 12 },
      expected: suppress("consent-expired", "cz@1", ["consent"]),
    },
    {
      name: "a tenant may not lengthen the consent lifetime beyond the rule set's",
      subject: CZ,
      evidence: [granted("consent", "tips", monthsAgo(26))],
      topic: "tips",
      tenant: { consentLifetimeMonths: 48 },
      expected: suppress("consent-expired", "cz@1", ["consent"]),
    },
    {
      name: "CA, a purchase 20 months ago implies consent, similar products or not",
      subject: { country: "CA" },
      evidence: [
        customer("purchase", {
          relationship: "purchase",
          lastAt: monthsAgo(20),
          categories: ["lenses"],
          optOutOfferedAt: null,
        }),
      ],
      topic: "tips",
      expected: send("implied-consent", "ca@1", ["purchase"]),
    },
    {
      name: "US, an objection to all marketing is honoured under the opt-out regime",
      subject: { country: "US" },
      evidence: [objection("objection", "*", monthsAgo(1))],
      topic: "tips",
      expected: suppress("objected", "us@1", ["objection"]),
    },
    {
      name: "strict mode, CZ with consent: both rule sets allow it",
      subject: CZ,
      evidence: [granted("consent", "tips", monthsAgo(2))],
      topic: "tips",
      mode: "strict",
      expected: send("consent", "cz@1+eu@1", ["consent"]),
    },
    {
      name: "strict mode, GB corporate: the EU rules have no corporate exemption",
      subject: { country: "GB", subscriberType: "corporate" },
      evidence: [],
      topic: "tips",
      mode: "strict",
      expected: suppress("no-basis", "uk@1+eu@1"),
    },
    {
      name: "strict mode, US with consent: sent on consent, which both laws accept",
      subject: { country: "US" },
      evidence: [granted("consent", "tips", monthsAgo(2))],
      topic: "tips",
      mode: "strict",
      expected: send("consent", "us@1+eu@1", ["consent"]),
    },
    {
      name: "strict mode, SK is already under the EU rules",
      subject: { country: "SK" },
      evidence: [granted("consent", "tips", monthsAgo(2))],
      topic: "tips",
      mode: "strict",
      expected: send("consent", "eu@1", ["consent"]),
    },
    {
      name: "scenario 25 without the erasure: the same consents would send",
      subject: CZ,
      evidence: [
        oldConsent,
        granted("consent-imported", "tips", monthsAgo(14), { method: "import" }),
      ],
      topic: "tips",
      expected: send("consent", "cz@1", ["consent-old"]),
    },
    {
      name: "an erasure with no evidence after it: an old valid consent is not resurrected",
      subject: CZ,
      evidence: [oldConsent, erased],
      topic: "tips",
      expected: suppress("erased", "cz@1", ["erasure"]),
    },
    {
      name: "an objection from before an erasure stands after a fresh opt-in to another topic",
      subject: { country: "US" },
      evidence: [
        objection("objection", "*", monthsAgo(10)),
        erased,
        granted("consent-new", "deals-lenses", monthsAgo(1)),
      ],
      topic: "tips",
      expected: suppress("objected", "us@1", ["objection", "erasure"]),
    },
    {
      name: "evidence dated in the future has not happened yet",
      subject: CZ,
      evidence: [granted("consent", "tips", monthsAgo(2)), objection("objection", "*", NOW + DAY)],
      topic: "tips",
      expected: send("consent", "cz@1", ["consent"]),
    },
  ];

  it.each(cases.map((scenario) => [scenario.name, scenario] as const))("%s", (_, scenario) => {
    check(scenario);
  });
});
