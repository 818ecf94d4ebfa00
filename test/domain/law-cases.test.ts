/**
 * Cases written from the law for four decisions docs/design.md §2–§3 spell out: a
 * stop never waits, the soft opt-in needs the opt-out at collection, a child
 * is not mailed on a basis that needs no consent, and an erasure stands as an
 * objection. Each names the provision it follows.
 */
import { describe, expect, it } from "vitest";
import { decide } from "../../src/domain/decision/decide.js";
import type { Decision, DecisionInput } from "../../src/domain/decision/types.js";
import type { EvidenceEvent, SubjectFacts } from "../../src/domain/evidence.js";
import { addMonths } from "../../src/domain/time.js";
import {
  customer,
  DAY,
  erasure,
  facts,
  granted,
  objection,
  suppression,
  TENANT,
  TOPICS,
  type TopicId,
  withdrawn,
} from "./builders.js";

const NOW = Date.parse("2026-06-15T10:00:00Z");
const MINUTE = 60_000;
const monthsAgo = (months: number) => addMonths(NOW, -months);

function decideAt(
  topic: TopicId,
  subject: Partial<SubjectFacts>,
  evidence: EvidenceEvent[],
  options: { now?: number; mode?: DecisionInput["tenant"]["mode"] } = {},
): Decision {
  return decide({
    addressValid: true,
    topic: TOPICS[topic],
    facts: facts(subject),
    evidence,
    tenant: { ...TENANT, mode: options.mode ?? "jurisdictional" },
    now: options.now ?? NOW,
  });
}

/** The event as the gateway stored it: recorded at `at`. */
function recorded<T extends EvidenceEvent>(event: T, at: number): T {
  return { ...event, recordedAt: at };
}

const outcome = (d: Decision) => ({ decision: d.decision, basis: d.basis, reasons: d.reasons });

describe("a stop never waits (GDPR Art. 7(3), Art. 21(3); docs/design.md §2 'When an event happened')", () => {
  const consent = recorded(granted("consent", "tips", monthsAgo(2)), monthsAgo(2));

  it("an objection dated 3 minutes ahead suppresses from the moment it is recorded (Art. 21(3))", () => {
    const stop = recorded(objection("objection", "*", NOW + 3 * MINUTE), NOW - MINUTE);
    const result = decideAt("tips", { country: "CZ" }, [consent, stop]);
    expect(outcome(result)).toEqual({ decision: "suppress", basis: null, reasons: ["objected"] });
    // The proof names the event as it is dated, and says why it counted already.
    expect(result.evidence).toContainEqual({
      at: new Date(NOW + 3 * MINUTE).toISOString(),
      id: "objection",
      kind: "objection",
    });
    expect(result.trace).toContainEqual(
      expect.objectContaining({
        rule: "objection",
        outcome: "decided",
        detail: expect.stringMatching(/ahead of the gateway's clock, and a stop never waits/),
      }),
    );
  });

  it("a withdrawal dated 5 minutes ahead ends the consent at once (Art. 7(3))", () => {
    const stop = recorded(withdrawn("withdrawal", "tips", NOW + 5 * MINUTE), NOW);
    expect(decideAt("tips", { country: "CZ" }, [consent, stop]).reasons).toEqual([
      "consent-withdrawn",
    ]);
  });

  it("a spam complaint dated ahead stands as an objection to all marketing at once", () => {
    const stop = recorded(suppression("complaint", "spam-complaint", NOW + 2 * MINUTE), NOW);
    expect(decideAt("tips", { country: "US" }, [stop]).reasons).toEqual(["spam-complaint"]);
  });

  it("a hard bounce and a restriction (Art. 18) dated ahead block every class at once", () => {
    for (const reason of ["hard-bounce", "restricted"] as const) {
      const stop = recorded(suppression("block", reason, NOW + 4 * MINUTE), NOW - 1);
      expect(decideAt("invoices", { country: "CZ" }, [stop]).reasons).toEqual([reason]);
    }
  });

  it("an erasure dated ahead (Art. 17) blocks at once", () => {
    const stop = recorded(erasure("erasure", NOW + 4 * MINUTE), NOW);
    expect(decideAt("invoices", { country: "US" }, [consent, stop]).reasons).toEqual(["erased"]);
  });

  it("a grant dated ahead counts only from its own time (Art. 7(1): consent given, not promised)", () => {
    const early = recorded(granted("consent", "tips", NOW + 3 * MINUTE), NOW);
    expect(decideAt("tips", { country: "CZ" }, [early]).reasons).toEqual(["no-basis"]);
    expect(
      outcome(decideAt("tips", { country: "CZ" }, [early], { now: NOW + 3 * MINUTE })),
    ).toEqual({ decision: "send", basis: "consent", reasons: [] });
  });

  it("a decision made before the stop was recorded is not changed by it (the proof of then stays true)", () => {
    const stop = recorded(objection("objection", "*", NOW + 3 * MINUTE), NOW + MINUTE);
    expect(decideAt("tips", { country: "CZ" }, [consent, stop]).basis).toBe("consent");
    expect(
      decideAt("tips", { country: "CZ" }, [consent, stop], { now: NOW + MINUTE }).reasons,
    ).toEqual(["objected"]);
  });

  it("the stop's time is the moment it was recorded: a consent given after that moment re-opens the topic (Art. 7(1))", () => {
    const stop = recorded(objection("objection", "tips", NOW + 4 * MINUTE), NOW);
    const again = recorded(granted("again", "tips", NOW + MINUTE), NOW + MINUTE);
    const result = decideAt("tips", { country: "CZ" }, [consent, stop, again], {
      now: NOW + 2 * MINUTE,
    });
    expect(outcome(result)).toEqual({ decision: "send", basis: "consent", reasons: [] });
  });
});

describe("soft opt-in needs the opt-out at collection (ePrivacy Art. 13(2), Act 480/2004 §7(3), PECR reg. 22(3)(c))", () => {
  const since = monthsAgo(10);
  const buyer = (optOutOfferedAt: number) =>
    customer("purchase", {
      relationship: "purchase",
      since,
      lastAt: monthsAgo(2),
      categories: ["lenses"],
      optOutOfferedAt,
    });

  it("an opt-out first offered months after the purchase does not cure it → no-basis", () => {
    const result = decideAt("deals-lenses", { country: "CZ" }, [buyer(monthsAgo(7))]);
    expect(outcome(result)).toEqual({ decision: "suppress", basis: null, reasons: ["no-basis"] });
    expect(result.trace).toContainEqual(
      expect.objectContaining({
        rule: "soft-opt-in",
        outcome: "failed",
        detail: expect.stringMatching(/opt-out not offered at collection/),
      }),
    );
  });

  it("an opt-out offered in the confirmation mail the day after the purchase is at collection → legitimate-interest", () => {
    for (const offered of [since, since + 12 * 3_600_000, since + DAY]) {
      expect(decideAt("deals-lenses", { country: "CZ" }, [buyer(offered)]).basis).toBe(
        "legitimate-interest",
      );
    }
  });

  it("a day and a second after the purchase is too late", () => {
    expect(
      decideAt("deals-lenses", { country: "GB" }, [buyer(since + DAY + 1000)]).reasons,
    ).toEqual(["no-basis"]);
  });
});

describe("no basis that needs no consent reaches a child (COPPA 15 U.S.C. 6502, GDPR Art. 8; docs/design.md §3 rule 6)", () => {
  // Born 2016: at most 9 on 15 June 2026, below the US age of 13.
  const child = { country: "US", birthYear: 2016 } as const;

  it("a US child whose consent fails as consent-minor is not mailed on the opt-out regime → minor", () => {
    const result = decideAt("tips", child, [granted("consent", "tips", monthsAgo(2))]);
    expect(outcome(result)).toEqual({
      decision: "suppress",
      basis: null,
      reasons: ["consent-minor", "minor"],
    });
    expect(result.trace).toContainEqual(
      expect.objectContaining({ rule: "minor", outcome: "decided" }),
    );
  });

  it("a US child with no evidence at all → minor", () => {
    expect(decideAt("tips", child, []).reasons).toEqual(["minor"]);
  });

  it("where only the birth year is known the youngest possible age counts: born 2013 may be 12 → minor", () => {
    expect(decideAt("tips", { country: "US", birthYear: 2013 }, []).reasons).toEqual(["minor"]);
    expect(decideAt("tips", { country: "US", birthYear: 2012 }, []).basis).toBe("opt-out-regime");
  });

  it("a verified age settles it: sent on the opt-out regime", () => {
    expect(decideAt("tips", { ...child, ageVerified: true }, []).basis).toBe("opt-out-regime");
  });

  it("UK PECR: a corporate subscriber known to be a child is not exempt (DPA 2018 s. 9: 13) → minor", () => {
    expect(
      decideAt("tips", { country: "GB", subscriberType: "corporate", birthYear: 2016 }, []).reasons,
    ).toEqual(["minor"]);
  });

  it("Canada, CASL s. 10(9): a child's recent purchase implies no consent → minor", () => {
    const purchase = customer("purchase", {
      relationship: "purchase",
      lastAt: monthsAgo(3),
      categories: ["accessories"],
      optOutOfferedAt: monthsAgo(3),
    });
    expect(decideAt("tips", { country: "CA", birthYear: 2016 }, [purchase]).reasons).toEqual([
      "minor",
    ]);
  });

  it("a service topic is still sent on the contract (rule 2 comes first)", () => {
    expect(decideAt("invoices", child, []).basis).toBe("contract");
  });
});

describe("an erasure stands as an objection to all marketing (GDPR Art. 17 with Art. 21(3); docs/design.md §3 rule 1)", () => {
  const erased = erasure("erasure", monthsAgo(6));
  const fresh = granted("fresh", "tips", monthsAgo(1));

  it("US: a fresh consent to tips re-opens tips on consent", () => {
    const result = decideAt("tips", { country: "US" }, [erased, fresh]);
    expect(outcome(result)).toEqual({ decision: "send", basis: "consent", reasons: [] });
    expect(result.evidence.map((ref) => ref.id)).toEqual(["erasure", "fresh"]);
  });

  it("US: …but not deals-lenses, which the opt-out regime would have allowed → erased", () => {
    const result = decideAt("deals-lenses", { country: "US" }, [erased, fresh]);
    expect(outcome(result)).toEqual({ decision: "suppress", basis: null, reasons: ["erased"] });
    expect(result.evidence.map((ref) => ref.id)).toEqual(["erasure"]);
  });

  it("GB corporate: the corporate exemption does not come back for another topic → erased", () => {
    expect(
      decideAt("deals-lenses", { country: "GB", subscriberType: "corporate" }, [erased, fresh])
        .reasons,
    ).toEqual(["erased"]);
  });

  it("CZ: a purchase after the erasure gives no soft opt-in while the erasure stands → erased", () => {
    const purchase = customer("purchase", {
      relationship: "purchase",
      lastAt: monthsAgo(1),
      categories: ["lenses"],
      optOutOfferedAt: monthsAgo(1),
    });
    expect(decideAt("deals-lenses", { country: "CZ" }, [erased, fresh, purchase]).reasons).toEqual([
      "erased",
    ]);
  });

  it("a re-opened topic goes on consent alone: an unconfirmed double opt-in is not replaced by the opt-out regime", () => {
    const pending = granted("fresh", "tips", monthsAgo(1), { method: "double-opt-in" });
    expect(decideAt("tips", { country: "US" }, [erased, pending]).reasons).toEqual([
      "consent-unconfirmed",
    ]);
  });

  it("a service topic is sent on the contract once a fresh opt-in lifted the address block", () => {
    expect(decideAt("invoices", { country: "US" }, [erased, fresh]).basis).toBe("contract");
  });

  it("strict mode gives the same answer", () => {
    expect(
      decideAt("deals-lenses", { country: "US" }, [erased, fresh], { mode: "strict" }).reasons,
    ).toEqual(["erased"]);
  });
});
