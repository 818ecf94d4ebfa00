import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { letTimePass, RUNTIMES } from "../support/runtimes.js";
import { ago, type DecisionBody, decisionOf, erase, grant, putSubject, write } from "./helpers.js";

/**
 * The 25 worked examples of SCENARIOS.md, each through the HTTP API: the
 * evidence is recorded with the real endpoints, then the decision is asked for.
 * Every scenario uses an address of its own.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let key: string;
  let strictKey: string;

  beforeAll(async () => {
    gw = await runtime.start();
    ({ key } = await createTenantWithTopics(gw));
    ({ key: strictKey } = await createTenantWithTopics(gw, {
      name: "Optika Strict",
      mode: "strict",
    }));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const address = (n: number) => `scenario-${n}@customers.example`;

  function expectSend(d: DecisionBody, basis: string, ruleSet?: string) {
    expect(d.decision, JSON.stringify(d.trace)).toBe("send");
    expect(d.basis).toBe(basis);
    expect(d.reasons).toEqual([]);
    if (ruleSet) expect(d.ruleSet).toBe(ruleSet);
  }

  function expectSuppress(d: DecisionBody, reason: string, ruleSet?: string) {
    expect(d.decision, JSON.stringify(d.trace)).toBe("suppress");
    expect(d.basis).toBeNull();
    expect(d.reasons).toEqual([reason]);
    if (ruleSet) expect(d.ruleSet).toBe(ruleSet);
  }

  const evidenceIds = (d: DecisionBody) => d.evidence.map((e) => e.id);

  /**
   * A purchase of lenses 10 months ago, by a customer since 14 months ago; the
   * opt-out offered at checkout, when the address was collected, unless said
   * (docs/design.md §3 rule 5: no later than a day after `since`).
   */
  function lensCustomer(email: string, optOutOffered = true) {
    const since = ago(gw, { months: 14 });
    return write(gw, key, "/v1/customers", {
      email,
      kind: "purchase",
      since,
      lastPurchaseAt: ago(gw, { months: 10 }),
      categories: ["lenses"],
      ...(optOutOffered ? { optOutOfferedAt: since } : {}),
    });
  }

  describe("SCENARIOS.md through HTTP (tenant CZ, jurisdictional)", () => {
    it("1: CZ individual, consent to tips by web form 2 months ago → send on consent", async () => {
      const email = address(1);
      const [consent] = await grant(gw, key, email, ["tips"], ago(gw, { months: 2 }), {
        subject: { country: "CZ", subscriberType: "individual" },
      });
      const d = await decisionOf(gw, key, email, "tips");
      expectSend(d, "consent", "cz@1");
      expect(d.topic).toBe("tips");
      expect(evidenceIds(d)).toContain(consent?.id);
    });

    it("2: CZ, consent to deals-lenses only → tips is suppressed, no-basis", async () => {
      const email = address(2);
      await grant(gw, key, email, ["deals-lenses"], ago(gw, { months: 2 }));
      expectSuppress(await decisionOf(gw, key, email, "tips"), "no-basis", "cz@1");
      // The consent it has still works for its own topic.
      expectSend(await decisionOf(gw, key, email, "deals-lenses"), "consent");
    });

    it("3: CZ, consent to tips 26 months ago, no engagement since → consent-expired", async () => {
      const email = address(3);
      const [consent] = await grant(gw, key, email, ["tips"], ago(gw, { months: 26 }));
      const d = await decisionOf(gw, key, email, "tips");
      expectSuppress(d, "consent-expired", "cz@1");
      expect(evidenceIds(d)).toContain(consent?.id);
    });

    it("4: CZ, consent to tips 26 months ago, an open 5 months ago → send on consent", async () => {
      const email = address(4);
      await grant(gw, key, email, ["tips"], ago(gw, { months: 26 }));
      const [open] = await write(gw, key, "/v1/engagements", {
        email,
        kind: "open",
        at: ago(gw, { months: 5 }),
      });
      const d = await decisionOf(gw, key, email, "tips");
      expectSend(d, "consent", "cz@1");
      expect(evidenceIds(d)).toContain(open?.id);
    });

    it("5: CZ, consent to tips, later an objection to deals-lenses → tips still sent on consent", async () => {
      const email = address(5);
      await grant(gw, key, email, ["tips"], ago(gw, { months: 3 }));
      await write(gw, key, "/v1/objections", {
        email,
        topics: ["deals-lenses"],
        channel: "one-click",
        receivedAt: ago(gw, { months: 1 }),
      });
      expectSend(await decisionOf(gw, key, email, "tips"), "consent", "cz@1");
      // The objection does bite for the topic it names.
      expectSuppress(await decisionOf(gw, key, email, "deals-lenses"), "objected");
    });

    it("6: CZ, objection to * 3 months ago → invoices sent on contract", async () => {
      const email = address(6);
      await write(gw, key, "/v1/objections", {
        email,
        topics: ["*"],
        channel: "email",
        receivedAt: ago(gw, { months: 3 }),
      });
      expectSend(await decisionOf(gw, key, email, "invoices"), "contract", "cz@1");
      // …while marketing is stopped.
      expectSuppress(await decisionOf(gw, key, email, "tips"), "objected");
    });

    it("7: CZ, objection to * 3 months ago, then consent to tips last week → send on consent", async () => {
      const email = address(7);
      await write(gw, key, "/v1/objections", {
        email,
        topics: ["*"],
        channel: "post",
        receivedAt: ago(gw, { months: 3 }),
      });
      const [consent] = await grant(gw, key, email, ["tips"], ago(gw, { days: 7 }));
      const d = await decisionOf(gw, key, email, "tips");
      expectSend(d, "consent", "cz@1");
      expect(evidenceIds(d)).toContain(consent?.id);
      // The fresh consent overrides the objection for tips only.
      expectSuppress(await decisionOf(gw, key, email, "deals-lenses"), "objected");
    });

    it("8: CZ customer, purchase of lenses 10 months ago, opt-out offered → deals-lenses on legitimate-interest", async () => {
      const email = address(8);
      const [customer] = await lensCustomer(email);
      const d = await decisionOf(gw, key, email, "deals-lenses");
      expectSend(d, "legitimate-interest", "cz@1");
      expect(evidenceIds(d)).toEqual([customer?.id]);
    });

    it("9: the same customer → tips (accessories, not similar) suppressed, no-basis", async () => {
      const email = address(9);
      await lensCustomer(email);
      const d = await decisionOf(gw, key, email, "tips");
      expectSuppress(d, "no-basis", "cz@1");
      expect(d.trace.find((s) => s.rule === "soft-opt-in")?.detail).toMatch(/not similar/);
    });

    it("10: the same customer, but no opt-out offered at checkout → deals-lenses no-basis", async () => {
      const email = address(10);
      await lensCustomer(email, false);
      const d = await decisionOf(gw, key, email, "deals-lenses");
      expectSuppress(d, "no-basis", "cz@1");
      expect(d.trace.find((s) => s.rule === "soft-opt-in")?.detail).toMatch(/opt-out/);
    });

    it("11: the same customer, consent to deals-lenses withdrawn last month → consent-withdrawn", async () => {
      const email = address(11);
      await lensCustomer(email);
      const [withdrawal] = await write(gw, key, "/v1/consents", {
        email,
        topics: ["deals-lenses"],
        action: "withdraw",
        collectedAt: ago(gw, { months: 1 }),
        source: { method: "preference-center" },
      });
      const d = await decisionOf(gw, key, email, "deals-lenses");
      expectSuppress(d, "consent-withdrawn", "cz@1");
      expect(evidenceIds(d)).toContain(withdrawal?.id);
    });

    it("12: SK corporate (no SK rule set → eu) → tips no-basis under eu", async () => {
      const email = address(12);
      await putSubject(gw, key, email, { country: "SK", subscriberType: "corporate" });
      expectSuppress(await decisionOf(gw, key, email, "tips"), "no-basis", "eu@1");
    });

    it("13: GB corporate → tips on corporate-subscriber under uk", async () => {
      const email = address(13);
      await putSubject(gw, key, email, { country: "GB", subscriberType: "corporate" });
      expectSend(await decisionOf(gw, key, email, "tips"), "corporate-subscriber", "uk@1");
    });

    it("14: GB individual → tips no-basis under uk", async () => {
      const email = address(14);
      await putSubject(gw, key, email, { country: "GB", subscriberType: "individual" });
      expectSuppress(await decisionOf(gw, key, email, "tips"), "no-basis", "uk@1");
    });

    it("15: DE, consent to tips by web form, never confirmed → consent-unconfirmed under de", async () => {
      const email = address(15);
      await putSubject(gw, key, email, { country: "DE", subscriberType: "individual" });
      await grant(gw, key, email, ["tips"], ago(gw, { months: 2 }));
      expectSuppress(await decisionOf(gw, key, email, "tips"), "consent-unconfirmed", "de@1");
    });

    it("16: DE, consent to tips by double opt-in, confirmed → send on consent under de", async () => {
      const email = address(16);
      await putSubject(gw, key, email, { country: "DE", subscriberType: "individual" });
      const collectedAt = ago(gw, { months: 2 });
      const confirmedAt = new Date(Date.parse(collectedAt) + 15 * 60_000).toISOString();
      await grant(gw, key, email, ["tips"], collectedAt, {
        source: { method: "double-opt-in", ip: "198.51.100.20" },
        confirmedAt,
        confirmIp: "198.51.100.21",
      });
      expectSend(await decisionOf(gw, key, email, "tips"), "consent", "de@1");
    });

    it("17: US, no evidence → tips on opt-out-regime under us", async () => {
      const email = address(17);
      await putSubject(gw, key, email, { country: "US", subscriberType: "individual" });
      expectSend(await decisionOf(gw, key, email, "tips"), "opt-out-regime", "us@1");
    });

    it("18: US, tenant in strict mode, no evidence → tips no-basis (eu must allow it too)", async () => {
      const email = address(18);
      await putSubject(gw, strictKey, email, { country: "US", subscriberType: "individual" });
      const d = await decisionOf(gw, strictKey, email, "tips");
      expectSuppress(d, "no-basis", "us@1+eu@1");
      expect(d.trace.some((s) => s.rule === "strict-mode" && s.outcome === "decided")).toBe(true);
      // The same address and facts at the jurisdictional tenant are mailed.
      await putSubject(gw, key, email, { country: "US", subscriberType: "individual" });
      expectSend(await decisionOf(gw, key, email, "tips"), "opt-out-regime", "us@1");
    });

    it("19: CA, an inquiry 3 months ago → tips on implied-consent under ca", async () => {
      const email = address(19);
      const at = ago(gw, { months: 3 });
      const [inquiry] = await write(gw, key, "/v1/customers", {
        email,
        kind: "inquiry",
        since: at,
        lastPurchaseAt: at,
        categories: ["lenses"],
        subject: { country: "CA", subscriberType: "individual" },
      });
      const d = await decisionOf(gw, key, email, "tips");
      expectSend(d, "implied-consent", "ca@1");
      expect(evidenceIds(d)).toContain(inquiry?.id);
    });

    it("20: CA, an inquiry 7 months ago → tips no-basis under ca", async () => {
      const email = address(20);
      await putSubject(gw, key, email, { country: "CA", subscriberType: "individual" });
      const at = ago(gw, { months: 7 });
      await write(gw, key, "/v1/customers", {
        email,
        kind: "inquiry",
        since: at,
        lastPurchaseAt: at,
        categories: ["accessories"],
      });
      expectSuppress(await decisionOf(gw, key, email, "tips"), "no-basis", "ca@1");
    });

    it("21: CZ, hard bounce last month → even invoices are suppressed, hard-bounce", async () => {
      const email = address(21);
      const [bounce] = await write(gw, key, "/v1/suppressions", {
        email,
        reason: "hard-bounce",
        at: ago(gw, { months: 1 }),
      });
      const d = await decisionOf(gw, key, email, "invoices");
      expectSuppress(d, "hard-bounce", "cz@1");
      expect(evidenceIds(d)).toEqual([bounce?.id]);
    });

    it("22: CZ, spam complaint last month → tips suppressed, spam-complaint", async () => {
      const email = address(22);
      await grant(gw, key, email, ["tips"], ago(gw, { months: 6 }));
      await write(gw, key, "/v1/suppressions", {
        email,
        reason: "spam-complaint",
        at: ago(gw, { months: 1 }),
      });
      expectSuppress(await decisionOf(gw, key, email, "tips"), "spam-complaint", "cz@1");
      // A spam complaint does not block service messages.
      expectSend(await decisionOf(gw, key, email, "invoices"), "contract");
    });

    it("23: CZ, at most 13 when consenting (CZ age is 15) → consent-minor", async () => {
      const email = address(23);
      const collectedAt = ago(gw, { months: 2 });
      // Born in this year, the person was at most 13 at the time of consent.
      const birthYear = new Date(collectedAt).getUTCFullYear() - 13;
      await putSubject(gw, key, email, { country: "CZ", subscriberType: "individual", birthYear });
      await grant(gw, key, email, ["tips"], collectedAt);
      expectSuppress(await decisionOf(gw, key, email, "tips"), "consent-minor", "cz@1");

      // Control: at least 15 when consenting → the same consent counts.
      const adult = "scenario-23-control@customers.example";
      await putSubject(gw, key, adult, {
        country: "CZ",
        subscriberType: "individual",
        birthYear: new Date(collectedAt).getUTCFullYear() - 16,
      });
      await grant(gw, key, adult, ["tips"], collectedAt);
      expectSend(await decisionOf(gw, key, adult, "tips"), "consent", "cz@1");
    });

    it("24: CZ, consent; erasure; then a new consent after the erasure → send on consent", async () => {
      const email = address(24);
      await grant(gw, key, email, ["tips"], ago(gw, { months: 4 }));
      expectSend(await decisionOf(gw, key, email, "tips"), "consent");
      const [tombstone] = await erase(gw, key, email);
      expect(tombstone?.kind).toBe("erasure");
      expectSuppress(await decisionOf(gw, key, email, "tips"), "erased");

      // A fresh opt-in, dated after the erasure: a little time passes, then it is collected now.
      await letTimePass(gw);
      const [fresh] = await grant(gw, key, email, ["tips"], ago(gw), {
        source: { method: "web-form", url: "https://optika.example/newsletter" },
      });
      const d = await decisionOf(gw, key, email, "tips");
      expectSend(d, "consent", "cz@1");
      expect(evidenceIds(d)).toContain(fresh?.id);
      expect(evidenceIds(d)).toContain(tombstone?.id);
    });

    it("25: CZ, consent; erasure; then an import of the old consent (dated before it) → erased", async () => {
      const email = address(25);
      const oldConsent = {
        email,
        topics: ["tips"],
        action: "grant",
        collectedAt: ago(gw, { months: 4 }),
        source: { method: "import" },
        wording: { version: "v1", text: "Tips by e-mail, please." },
      };
      await write(gw, key, "/v1/consents", oldConsent);
      expectSend(await decisionOf(gw, key, email, "tips"), "consent");
      const [tombstone] = await erase(gw, key, email);

      await letTimePass(gw);
      // The old consent is refused: it predates the erasure and would bring
      // back erased personal data.
      const again = await gw.request("/v1/consents", { method: "POST", key, json: oldConsent });
      expect(again.status).toBe(422);
      expect(((await again.json()) as { type: string }).type).toBe(
        "/problems/evidence-predates-erasure",
      );
      const d = await decisionOf(gw, key, email, "tips");
      expectSuppress(d, "erased", "cz@1");
      expect(evidenceIds(d)).toEqual([tombstone?.id]);
      // The tombstone blocks service messages too.
      expectSuppress(await decisionOf(gw, key, email, "invoices"), "erased");
    });
  });
});
