import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidence, providerEvents } from "../../src/db/schema.js";
import type { WebhookReport } from "../../src/services/webhooks/receive-sendgrid-events.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { letTimePass, RUNTIMES, servicesBeside } from "../support/runtimes.js";
import {
  addJustification,
  patchSettings,
  postWebhook,
  sgEvent,
  type WebhookKeys,
  webhookKeys,
} from "../webhooks/helpers.js";
import {
  ago,
  ahead,
  decisionOf,
  erase,
  evidenceRows,
  expectProblem,
  grant,
  putSubject,
  write,
} from "./helpers.js";

/**
 * The cases of docs/design.md §2–§3 written from the law, through the HTTP API with
 * the real endpoints: a stop never waits, the soft opt-in needs the opt-out
 * at collection, a child is not mailed on a basis that needs no consent, an
 * erasure stands as an objection, and each subject fact is optional.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let services: Awaited<ReturnType<typeof servicesBeside>>;
  let key: string;
  let tenantId: string;
  let keys: WebhookKeys;
  let n = 0;
  const address = (what: string) => `${what}-${++n}@law.example`;

  beforeAll(async () => {
    gw = await runtime.start();
    services = await servicesBeside(gw);
    ({ key, tenantId } = await createTenantWithTopics(gw));
    keys = await webhookKeys();
    await patchSettings(gw, key, { sendgrid: { webhookPublicKey: keys.publicKey } });
  });

  afterAll(async () => {
    services?.close();
    await gw?.stop();
  });

  describe("a stop never waits (GDPR Art. 7(3), Art. 21(3); docs/design.md §2)", () => {
    it("an objection dated 3 minutes ahead is answered 201 and suppresses the very next decision", async () => {
      const email = address("objection-ahead");
      await grant(gw, key, email, ["tips"], ago(gw, { months: 1 }));
      const [objection] = await write(gw, key, "/v1/objections", {
        email,
        topics: ["*"],
        channel: "email",
        receivedAt: ahead(gw, { minutes: 3 }),
      });
      const decision = await decisionOf(gw, key, email, "tips");
      expect(decision.reasons).toEqual(["objected"]);
      // The proof cites the objection as it is dated, and says why it counted already.
      expect(decision.evidence).toContainEqual({
        id: objection?.id,
        kind: "objection",
        at: objection?.at,
      });
      expect(decision.trace.find((step) => step.rule === "objection")?.detail).toMatch(
        /a stop never waits/,
      );
    });

    it("a withdrawal, a spam complaint and a restriction dated ahead count at once too", async () => {
      const withdrawn = address("withdrawal-ahead");
      await grant(gw, key, withdrawn, ["tips"], ago(gw, { months: 1 }));
      await write(gw, key, "/v1/consents", {
        email: withdrawn,
        topics: ["tips"],
        action: "withdraw",
        collectedAt: ahead(gw, { minutes: 4 }),
        source: { method: "api" },
      });
      expect((await decisionOf(gw, key, withdrawn, "tips")).reasons).toEqual(["consent-withdrawn"]);
      for (const reason of ["spam-complaint", "restricted"]) {
        const email = address(reason);
        await grant(gw, key, email, ["tips"], ago(gw, { months: 1 }));
        await write(gw, key, "/v1/suppressions", {
          email,
          reason,
          at: ahead(gw, { minutes: 4 }),
        });
        expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual([reason]);
      }
    });

    it("a consent dated ahead counts only from its own time (Art. 7(1))", async () => {
      const email = address("grant-ahead");
      await grant(gw, key, email, ["tips"], ahead(gw, { minutes: 3 }));
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["no-basis"]);
    });

    it("SendGrid events beyond the bounds (timestamp 1e15, before 1990, 6 minutes ahead) are refused, never stored; the rest of the POST is kept", async () => {
      const email = address("provider");
      await grant(gw, key, email, ["tips"], ago(gw, { months: 1 }));
      const jid = await addJustification(services, tenantId, email, "tips");
      const beyond = [
        { ...sgEvent("unsubscribe", jid, email, gw.clock()), timestamp: 1e15 },
        sgEvent("spamreport", jid, email, Date.UTC(1989, 11, 31)),
        sgEvent("bounce", jid, email, gw.clock() + 6 * 60_000, { type: "bounce" }),
      ];
      const kept = sgEvent("open", jid, email, gw.clock() - 60_000);
      const res = await postWebhook(gw, tenantId, keys, [...beyond, kept]);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const report = JSON.parse(text) as WebhookReport;
      expect(report).toMatchObject({ received: 4, invalid: 3, applied: 1, evidence: 1 });
      expect(report.unmatchedEvents.map((e) => e.detail)).toEqual([
        "timestamp more than 5 minutes ahead of the gateway's clock",
        "timestamp before 1990",
        "timestamp more than 5 minutes ahead of the gateway's clock",
      ]);
      // No evidence from them, no status, and no time kept for them.
      const rows = await databaseOf(gw)
        .select()
        .from(providerEvents)
        .where(and(eq(providerEvents.tenantId, tenantId), eq(providerEvents.justificationId, jid)));
      for (const event of beyond) {
        const row = rows.find((r) => r.sgEventId === event.sg_event_id);
        expect(row).toMatchObject({ status: "invalid", occurredAt: null, evidenceId: null });
      }
      const evidenceOf = await databaseOf(gw)
        .select({ kind: evidence.kind })
        .from(evidence)
        .where(eq(evidence.id, rows.find((r) => r.status === "applied")?.evidenceId ?? ""));
      expect(evidenceOf).toEqual([{ kind: "engagement" }]);
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
    });
  });

  describe("soft opt-in needs the opt-out at collection (ePrivacy Art. 13(2), Act 480/2004 §7(3), PECR reg. 22(3)(c))", () => {
    it("an opt-out first offered months after the purchase gives no soft opt-in; one the next day does", async () => {
      const late = address("late-opt-out");
      const since = ago(gw, { months: 10 });
      await write(gw, key, "/v1/customers", {
        email: late,
        kind: "purchase",
        since,
        lastPurchaseAt: ago(gw, { months: 2 }),
        categories: ["lenses"],
        optOutOfferedAt: ago(gw, { months: 6 }),
      });
      const decision = await decisionOf(gw, key, late, "deals-lenses");
      expect(decision.reasons).toEqual(["no-basis"]);
      expect(decision.trace.find((step) => step.rule === "soft-opt-in")?.detail).toMatch(
        /opt-out not offered at collection/,
      );

      const timely = address("timely-opt-out");
      await write(gw, key, "/v1/customers", {
        email: timely,
        kind: "purchase",
        since,
        lastPurchaseAt: ago(gw, { months: 2 }),
        categories: ["lenses"],
        optOutOfferedAt: new Date(Date.parse(since) + 20 * 3_600_000).toISOString(),
      });
      expect((await decisionOf(gw, key, timely, "deals-lenses")).basis).toBe("legitimate-interest");
    });
  });

  describe("no basis that needs no consent reaches a child (COPPA 15 U.S.C. 6502; docs/design.md §3 rule 6)", () => {
    it("a US subject known to be under 13 whose consent fails as consent-minor → minor, not opt-out-regime", async () => {
      const email = address("us-child");
      await putSubject(gw, key, email, { country: "US", birthYear: 2018 });
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["minor"]);
      await grant(gw, key, email, ["tips"], ago(gw, { months: 1 }));
      const decision = await decisionOf(gw, key, email, "tips");
      expect(decision).toMatchObject({
        decision: "suppress",
        basis: null,
        reasons: ["consent-minor", "minor"],
        ruleSet: "us@1",
      });
      // Service mail is not marketing: still sent on the contract.
      expect((await decisionOf(gw, key, email, "invoices")).basis).toBe("contract");
    });

    it("a send to that child is suppressed as minor, and the answer says so", async () => {
      const email = address("us-child-send");
      await putSubject(gw, key, email, { country: "US", birthYear: 2018 });
      const res = await gw.request("/v1/messages", {
        method: "POST",
        key,
        json: {
          topic: "tips",
          from: { email: "news@optika.example" },
          subject: "Tips",
          text: "Clean your glasses.",
          recipients: [{ email }],
          dryRun: true,
        },
      });
      const text = await res.text();
      expect(res.status, text).toBeLessThan(300);
      const answer = JSON.parse(text) as { results: { reasons: string[]; decision: string }[] };
      expect(answer.results).toMatchObject([{ decision: "suppress", reasons: ["minor"] }]);
    });
  });

  describe("an erasure stands as an objection to all marketing (GDPR Art. 17 with Art. 21(3); docs/design.md §3 rule 1)", () => {
    it("US: after an erasure, a fresh consent to tips re-opens tips only; deals-lenses stays erased", async () => {
      const email = address("erased-us");
      await putSubject(gw, key, email, { country: "US" });
      await grant(gw, key, email, ["tips"], ago(gw, { months: 3 }));
      await erase(gw, key, email);
      await letTimePass(gw);
      await grant(gw, key, email, ["tips"], new Date(gw.clock()).toISOString());
      expect((await decisionOf(gw, key, email, "tips")).basis).toBe("consent");
      const other = await decisionOf(gw, key, email, "deals-lenses");
      expect(other.reasons).toEqual(["erased"]);
      expect(other.trace.find((s) => s.outcome === "decided")?.detail).toMatch(
        /stands as an objection to all marketing/,
      );
      expect((await decisionOf(gw, key, email, "invoices")).basis).toBe("contract");
    });
  });

  describe("one address syntax for every endpoint (RFC 5321 §4.1.2, RFC 6531 §3.3; docs/design.md §2)", () => {
    const ADDRESSES = [
      "o'brien@law-syntax.example",
      "a=b@law-syntax.example",
      "jan+news@law-syntax.example",
      "info@bücher-law.example",
      "jiří@příklad-law.cz",
    ];

    it("what a send takes, every evidence endpoint takes too: objection, suppression, withdrawal, facts, lift, decision", async () => {
      for (const email of ADDRESSES) {
        const res = await gw.request("/v1/messages", {
          method: "POST",
          key,
          json: {
            topic: "tips",
            from: { email: "news@optika.example" },
            subject: "Tips",
            text: "Clean your glasses.",
            recipients: [{ email }],
            dryRun: true,
          },
        });
        const sent = JSON.parse(await res.text()) as { results: { reasons: string[] }[] };
        expect(sent.results[0]?.reasons, email).toEqual(["no-basis"]);

        await grant(gw, key, email, ["tips"], ago(gw, { months: 1 }));
        expect((await decisionOf(gw, key, email, "tips")).basis, email).toBe("consent");
        await putSubject(gw, key, email, { country: "CZ" });
        await write(gw, key, "/v1/suppressions", { email, reason: "restricted" });
        const lift = await gw.request(`/v1/suppressions/${encodeURIComponent(email)}/restricted`, {
          method: "DELETE",
          key,
        });
        expect(lift.status, email).toBe(200);
        // The lift is dated just after the restriction it lifts.
        await letTimePass(gw);
        await write(gw, key, "/v1/objections", {
          email,
          topics: ["tips"],
          channel: "email",
          receivedAt: ago(gw, { minutes: 1 }),
        });
        expect((await decisionOf(gw, key, email, "tips")).reasons, email).toEqual(["objected"]);
        await write(gw, key, "/v1/consents", {
          email,
          topics: ["deals-lenses"],
          action: "withdraw",
          collectedAt: ago(gw, { minutes: 1 }),
          source: { method: "api" },
        });
      }
    });

    it("an internationalised domain and its punycode spelling are one subject (UTS #46)", async () => {
      const unicode = "Eva@Bücher-Idn.example";
      const punycode = "eva@xn--bcher-idn-q9a.example";
      await grant(gw, key, unicode, ["tips"], ago(gw, { months: 1 }));
      expect((await decisionOf(gw, key, punycode, "tips")).basis).toBe("consent");
      // The objection, given in the other spelling, reaches the same person.
      await write(gw, key, "/v1/objections", {
        email: punycode.toUpperCase(),
        topics: ["*"],
        channel: "email",
        receivedAt: ago(gw, { minutes: 1 }),
      });
      expect((await decisionOf(gw, key, unicode, "tips")).reasons).toEqual(["objected"]);
      expect((await decisionOf(gw, key, "eva@bücher-idn.example", "tips")).reasons).toEqual([
        "objected",
      ]);
    });

    it("what is no mailbox is refused alike everywhere, without echoing it", async () => {
      for (const email of [
        '"quoted"@law.example',
        "no-at-sign",
        "jan@příklad",
        "a b@law.example",
      ]) {
        const problem = await expectProblem(
          await gw.request("/v1/objections", {
            method: "POST",
            key,
            json: { email, topics: ["*"], channel: "api", receivedAt: ago(gw, { minutes: 1 }) },
          }),
          400,
          "invalid-request",
        );
        expect(problem.errors, email).toEqual([
          { pointer: "/email", detail: "must be an e-mail address" },
        ]);
        expect(problem.raw).not.toContain(email);
      }
    });
  });

  describe("each subject fact is optional (docs/design.md §2)", () => {
    it('PUT {"subscriberType":"corporate"} without a country is recorded; the tenant\'s default country then counts', async () => {
      const uk = await createTenantWithTopics(gw, { name: "Optika UK", country: "GB" });
      const email = address("corporate");
      const before = (await evidenceRows(gw)).length;
      expect(await putSubject(gw, uk.key, email, { subscriberType: "corporate" })).toEqual({
        country: null,
        subscriberType: "corporate",
        birthYear: null,
        ageVerified: null,
      });
      expect((await evidenceRows(gw)).length).toBe(before + 1);
      // PECR reg. 22 applies to individual subscribers; the tenant's default is GB.
      expect(await decisionOf(gw, uk.key, email, "tips")).toMatchObject({
        basis: "corporate-subscriber",
        ruleSet: "uk@1",
      });
      // A subject of unknown subscriber type is an individual.
      expect((await decisionOf(gw, uk.key, address("unknown-type"), "tips")).reasons).toEqual([
        "no-basis",
      ]);
    });

    it("a wrong value is still refused, naming the field, and nothing is written", async () => {
      const before = (await evidenceRows(gw)).length;
      const problem = await expectProblem(
        await gw.request(`/v1/subjects/${address("wrong")}`, {
          method: "PUT",
          key,
          json: { subscriberType: "company" },
        }),
        400,
        "invalid-request",
      );
      expect(problem.errors?.map((e) => e.pointer)).toEqual(["/subscriberType"]);
      expect((await evidenceRows(gw)).length).toBe(before);
    });
  });
});
