import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidence, subjects } from "../../src/db/schema.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { subjectKeyOf as keyOf, movedClock, RUNTIMES } from "../support/runtimes.js";
import {
  ago,
  ahead,
  consentBody,
  decisionOf,
  erase,
  evidenceRows,
  expectProblem,
  grant,
  putSubject,
  write,
} from "./helpers.js";

/** What the evidence endpoints store, and what they refuse. */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    gw = await runtime.start();
    ({ key, tenantId } = await createTenantWithTopics(gw));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

  async function rowById(id: string | undefined) {
    expect(id).toBeDefined();
    const [row] = await databaseOf(gw)
      .select()
      .from(evidence)
      .where(eq(evidence.id, id ?? ""));
    expect(row).toBeDefined();
    if (!row) throw new Error("no row");
    return row;
  }

  /** The keyed hash the gateway refers to a subject by (docs/design.md §6). */
  function subjectKeyOf(email: string): string {
    return keyOf(tenantId, email.trim().toLowerCase());
  }

  async function count() {
    return (await evidenceRows(gw)).length;
  }

  describe("anonymised IPs", () => {
    it("stores an IPv4 address as its /24, the confirmation IP too, never the address itself", async () => {
      const [ev] = await grant(gw, key, "ipv4@evidence.example", ["tips"], ago(gw, { days: 3 }), {
        source: {
          method: "double-opt-in",
          url: "https://optika.example/signup",
          ip: "203.0.113.77",
          userAgent: "Mozilla/5.0 (Evidence Test)",
        },
        confirmedAt: ago(gw, { days: 2 }),
        confirmIp: "198.51.100.201",
      });
      const row = await rowById(ev?.id);
      expect(row.personal).toEqual({
        ip: "203.0.113.0",
        userAgent: "Mozilla/5.0 (Evidence Test)",
        sourceUrl: "https://optika.example/signup",
        confirmIp: "198.51.100.0",
      });
      const stored = JSON.stringify(row);
      expect(stored).not.toContain("203.0.113.77");
      expect(stored).not.toContain("198.51.100.201");
    });

    it("stores an IPv6 address as its /48", async () => {
      const [ev] = await grant(gw, key, "ipv6@evidence.example", ["tips"], ago(gw, { days: 3 }), {
        source: { method: "web-form", ip: "2001:db8:abcd:12:3456:789a:bcde:f012" },
      });
      const row = await rowById(ev?.id);
      expect(row.personal).toEqual({ ip: "2001:db8:abcd::" });
      expect(JSON.stringify(row)).not.toMatch(/3456|789a|bcde|f012/i);
    });

    it("stores an IPv4-mapped IPv6 address as the IPv4 /24", async () => {
      const [ev] = await grant(gw, key, "mapped@evidence.example", ["tips"], ago(gw, { days: 3 }), {
        source: { method: "web-form", ip: "::ffff:192.0.2.155" },
      });
      const row = await rowById(ev?.id);
      expect(row.personal).toEqual({ ip: "192.0.2.0" });
    });
  });

  describe("wording", () => {
    it("is stored as its version and the SHA-256 of the exact text shown, never the text", async () => {
      const text =
        "Ano, chci dostávat tipy k péči o brýle e-mailem. Souhlas mohu kdykoli odvolat.\n";
      const [ev] = await grant(
        gw,
        key,
        "wording@evidence.example",
        ["tips"],
        ago(gw, { days: 1 }),
        {
          wording: { version: "cz-2026-03", text },
        },
      );
      const row = await rowById(ev?.id);
      expect(row.data).toMatchObject({ wordingVersion: "cz-2026-03", wordingSha256: sha256(text) });
      const stored = JSON.stringify(row);
      expect(stored).not.toContain("dostávat");
      expect(stored).not.toContain("péči");
    });

    it("one event per topic, each with the same wording hash", async () => {
      const evs = await grant(
        gw,
        key,
        "two-topics@evidence.example",
        ["tips", "deals-lenses"],
        ago(gw, { days: 1 }),
      );
      expect(evs.map((e) => e.topic).sort()).toEqual(["deals-lenses", "tips"]);
      for (const ev of evs) {
        expect((await rowById(ev.id)).data.wordingSha256).toBe(
          sha256("Yes, send me tips about caring for my glasses. I can unsubscribe at any time."),
        );
      }
    });

    it("a grant without wording is refused; a withdrawal needs none", async () => {
      const { wording: _omit, ...body } = consentBody(
        "no-wording@evidence.example",
        ["tips"],
        ago(gw, { days: 1 }),
      );
      const before = await count();
      const refused = await expectProblem(
        await gw.request("/v1/consents", { method: "POST", key, json: body }),
        400,
        "invalid-request",
      );
      expect(refused.errors?.map((e) => e.pointer)).toEqual(["/wording"]);
      expect(await count()).toBe(before);
      const withdrawn = await write(gw, key, "/v1/consents", { ...body, action: "withdraw" });
      expect(withdrawn[0]?.kind).toBe("consent-withdrawn");
    });
  });

  describe("the address", () => {
    const given = "Pii.Person+Tag@Example.ORG";

    it("is never stored in evidence rows, only its keyed hash; matching ignores case and spaces", async () => {
      await grant(gw, key, given, ["tips"], ago(gw, { months: 1 }), {
        subject: { country: "CZ", subscriberType: "individual" },
      });
      await write(gw, key, "/v1/engagements", {
        email: ` ${given.toUpperCase()} `,
        kind: "click",
        at: ago(gw, { days: 5 }),
      });
      await write(gw, key, "/v1/objections", {
        email: given.toLowerCase(),
        topics: ["deals-lenses"],
        channel: "email",
        receivedAt: ago(gw, { days: 4 }),
        note: "Asked by phone",
      });
      const expectedKey = subjectKeyOf(given);
      // A keyed hash: not the address, nor its plain SHA-256.
      expect(expectedKey).not.toContain("pii.person");
      expect(expectedKey).not.toBe(sha256(given.toLowerCase()));
      const rows = (await evidenceRows(gw)).filter((r) => r.subjectKey === expectedKey);
      expect(rows.map((r) => r.kind).sort()).toEqual([
        "consent-granted",
        "engagement",
        "objection",
        "subject-facts",
      ]);
      const all = JSON.stringify(await evidenceRows(gw)).toLowerCase();
      expect(all).not.toContain(given.toLowerCase());
      expect(all).not.toContain("pii.person");
      // The subject row keeps the address as first given, for display.
      const [subject] = await databaseOf(gw)
        .select()
        .from(subjects)
        .where(eq(subjects.subjectKey, expectedKey));
      expect(subject?.email).toBe(given);
      // The objection, recorded in another case, bites.
      expect((await decisionOf(gw, key, given, "deals-lenses")).reasons).toEqual(["objected"]);
      expect((await decisionOf(gw, key, given.toUpperCase(), "tips")).basis).toBe("consent");
    });

    it("erasure removes the address, the facts and every personal datum; a tombstone remains", async () => {
      const expectedKey = subjectKeyOf(given);
      const before = (await evidenceRows(gw)).filter((r) => r.subjectKey === expectedKey);
      expect(before.some((r) => r.personal !== null)).toBe(true);
      const [tombstone] = await erase(gw, key, given.toUpperCase());
      const after = (await evidenceRows(gw)).filter((r) => r.subjectKey === expectedKey);
      expect(after).toHaveLength(before.length + 1);
      expect(after.every((r) => r.personal === null)).toBe(true);
      expect(after.find((r) => r.id === tombstone?.id)?.kind).toBe("erasure");
      const [subject] = await databaseOf(gw)
        .select()
        .from(subjects)
        .where(eq(subjects.subjectKey, expectedKey));
      expect(subject).toMatchObject({
        email: null,
        country: null,
        subscriberType: null,
        birthYear: null,
        ageVerified: null,
      });
      expect((await decisionOf(gw, key, given, "tips")).reasons).toEqual(["erased"]);
    });
  });

  describe("subject facts", () => {
    it("PUT records the facts, normalised, with a history event", async () => {
      const email = "facts@evidence.example";
      const before = await count();
      const view = await putSubject(gw, key, email, {
        country: "uk",
        subscriberType: "corporate",
        birthYear: 1980,
      });
      expect(view).toEqual({
        country: "GB",
        subscriberType: "corporate",
        birthYear: 1980,
        ageVerified: null,
      });
      const rows = await evidenceRows(gw);
      expect(rows).toHaveLength(before + 1);
      const subjectKey = subjectKeyOf(email);
      const history = rows.find((r) => r.kind === "subject-facts" && r.subjectKey === subjectKey);
      expect(history?.personal).toMatchObject({ country: "GB", subscriberType: "corporate" });
      expect((await decisionOf(gw, key, email, "tips")).ruleSet).toBe("uk@1");

      // Facts given later replace those held; facts not given are kept.
      const again = await putSubject(gw, key, email, {
        country: "DE",
        subscriberType: "individual",
      });
      expect(again).toEqual({
        country: "DE",
        subscriberType: "individual",
        birthYear: 1980,
        ageVerified: null,
      });
      expect((await decisionOf(gw, key, email, "tips")).ruleSet).toBe("de@1");
    });

    it("facts given with evidence are recorded too", async () => {
      const email = "facts-with-consent@evidence.example";
      await grant(gw, key, email, ["tips"], ago(gw, { months: 1 }), {
        subject: { country: "us", ageVerified: true },
      });
      const [subject] = (await databaseOf(gw).select().from(subjects)).filter(
        (s) => s.email === email,
      );
      expect(subject).toMatchObject({ country: "US", ageVerified: true, subscriberType: null });
      expect((await decisionOf(gw, key, email, "tips")).ruleSet).toBe("us@1");
    });

    // docs/design.md §2: every fact is optional; what is left out stays as held, or unknown.
    it("PUT takes each fact alone: a country only, a subscriber type only; nothing else changes", async () => {
      const email = "partial@evidence.example";
      expect(await putSubject(gw, key, email, { country: "CZ" })).toEqual({
        country: "CZ",
        subscriberType: null,
        birthYear: null,
        ageVerified: null,
      });
      expect(await putSubject(gw, key, email, { subscriberType: "corporate" })).toEqual({
        country: "CZ",
        subscriberType: "corporate",
        birthYear: null,
        ageVerified: null,
      });
    });

    it("PUT with no facts records nothing, and an unknown field is still refused", async () => {
      const email = "nothing@evidence.example";
      const before = await count();
      expect(await putSubject(gw, key, email, {})).toEqual({
        country: null,
        subscriberType: null,
        birthYear: null,
        ageVerified: null,
      });
      const problem = await expectProblem(
        await gw.request(`/v1/subjects/${email}`, {
          method: "PUT",
          key,
          json: { subscriberType: "corporate", company: "Acme" },
        }),
        400,
        "invalid-request",
      );
      expect(problem.errors?.map((e) => e.pointer)).toEqual(["/company"]);
      expect(await count()).toBe(before);
    });
  });

  describe("suppressions", () => {
    it("a lifted restriction no longer suppresses; lifting again finds nothing", async () => {
      const email = "restricted@evidence.example";
      await grant(gw, key, email, ["tips"], ago(gw, { months: 2 }));
      await write(gw, key, "/v1/suppressions", {
        email,
        reason: "restricted",
        at: ago(gw, { days: 10 }),
        note: "Art. 18 request",
      });
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["restricted"]);
      const res = await gw.request(`/v1/suppressions/${email}/restricted`, {
        method: "DELETE",
        key,
      });
      expect(res.status).toBe(200);
      const { evidence: lifted } = (await res.json()) as { evidence: { kind: string }[] };
      expect(lifted.map((e) => e.kind)).toEqual(["suppression-lifted"]);
      expect(await decisionOf(gw, key, email, "tips")).toMatchObject({
        decision: "send",
        basis: "consent",
      });
      await expectProblem(
        await gw.request(`/v1/suppressions/${email}/restricted`, { method: "DELETE", key }),
        404,
        "suppression-not-found",
      );
    });

    it("a lifted hard bounce lets service mail through again", async () => {
      const email = "bounced@evidence.example";
      await write(gw, key, "/v1/suppressions", {
        email,
        reason: "hard-bounce",
        at: ago(gw, { days: 3 }),
      });
      expect((await decisionOf(gw, key, email, "invoices")).reasons).toEqual(["hard-bounce"]);
      const res = await gw.request(`/v1/suppressions/${encodeURIComponent(email)}/hard-bounce`, {
        method: "DELETE",
        key,
      });
      expect(res.status).toBe(200);
      expect((await decisionOf(gw, key, email, "invoices")).basis).toBe("contract");
    });

    // Node only: the decision must be asked after the suppression's date, 3 minutes from now;
    // workerd's clock is the real one, and the test cannot wait that long.
    if (runtime.name === "node") {
      it("a lift answered 200 takes effect even against a suppression dated a little ahead", async () => {
        const email = "skewed@evidence.example";
        // Within the allowed clock skew, a suppression may be dated just ahead of now.
        await write(gw, key, "/v1/suppressions", {
          email,
          reason: "restricted",
          at: ahead(gw, { minutes: 2 }),
        });
        const res = await gw.request(`/v1/suppressions/${email}/restricted`, {
          method: "DELETE",
          key,
        });
        expect(res.status).toBe(200);
        movedClock(gw).advance(3 * 60_000);
        expect((await decisionOf(gw, key, email, "invoices")).basis).toBe("contract");
      });
    }

    it("there is nothing to lift where nothing was suppressed", async () => {
      await expectProblem(
        await gw.request("/v1/suppressions/never@evidence.example/hard-bounce", {
          method: "DELETE",
          key,
        }),
        404,
        "suppression-not-found",
      );
    });

    it("a spam complaint or an erasure cannot be lifted (422), and stays in force", async () => {
      const email = "complained@evidence.example";
      await grant(gw, key, email, ["tips"], ago(gw, { months: 2 }));
      await write(gw, key, "/v1/suppressions", { email, reason: "spam-complaint" });
      const before = await count();
      await expectProblem(
        await gw.request(`/v1/suppressions/${email}/spam-complaint`, { method: "DELETE", key }),
        422,
        "suppression-not-liftable",
      );
      await expectProblem(
        await gw.request(`/v1/suppressions/${email}/erased`, { method: "DELETE", key }),
        422,
        "suppression-not-liftable",
      );
      expect(await count()).toBe(before);
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["spam-complaint"]);
    });
  });

  describe("times", () => {
    const email = "future@evidence.example";
    const cases = (
      future = ahead(gw, { days: 1 }),
    ): { path: string; json: Record<string, unknown>; pointer: string }[] => {
      const past = ago(gw, { days: 30 });
      return [
        {
          path: "/v1/consents",
          json: consentBody(email, ["tips"], future),
          pointer: "/collectedAt",
        },
        {
          path: "/v1/consents",
          json: consentBody(email, ["tips"], past, {
            source: { method: "double-opt-in" },
            confirmedAt: future,
          }),
          pointer: "/confirmedAt",
        },
        {
          path: "/v1/customers",
          json: { email, kind: "purchase", since: future, lastPurchaseAt: future, categories: [] },
          pointer: "/since",
        },
        {
          path: "/v1/customers",
          json: { email, kind: "purchase", since: past, lastPurchaseAt: future, categories: [] },
          pointer: "/lastPurchaseAt",
        },
        {
          path: "/v1/customers",
          json: {
            email,
            kind: "purchase",
            since: past,
            lastPurchaseAt: past,
            categories: [],
            optOutOfferedAt: future,
          },
          pointer: "/optOutOfferedAt",
        },
        { path: "/v1/engagements", json: { email, kind: "open", at: future }, pointer: "/at" },
        {
          path: "/v1/objections",
          json: { email, topics: ["*"], channel: "api", receivedAt: future },
          pointer: "/receivedAt",
        },
        {
          path: "/v1/suppressions",
          json: { email, reason: "hard-bounce", at: future },
          pointer: "/at",
        },
      ];
    };

    // docs/design.md §2 "When an event happened": more than 5 minutes ahead, or before 1990 → 422.
    it("evidence dated more than 5 minutes ahead is refused (422), naming the field, and nothing is written", async () => {
      const before = await count();
      for (const future of [ahead(gw, { days: 1 }), ahead(gw, { minutes: 6 })]) {
        for (const c of cases(future)) {
          const problem = await expectProblem(
            await gw.request(c.path, { method: "POST", key, json: c.json }),
            422,
            "implausible-time",
          );
          expect(problem.errors, `${c.path} ${c.pointer}`).toEqual([
            { pointer: c.pointer, detail: "more than 5 minutes ahead of the gateway's clock" },
          ]);
          expect(problem.raw).not.toContain(email);
        }
      }
      expect(await count()).toBe(before);
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["no-basis"]);
    });

    it("evidence dated before 1990 is refused (422), naming the field, and nothing is written", async () => {
      const before = await count();
      for (const c of cases("1989-12-31T23:59:59Z")) {
        const json =
          c.pointer === "/since" ? { ...c.json, lastPurchaseAt: "1989-12-31T23:59:59Z" } : c.json;
        const problem = await expectProblem(
          await gw.request(c.path, { method: "POST", key, json }),
          422,
          "implausible-time",
        );
        expect(problem.errors, `${c.path} ${c.pointer}`).toEqual([
          { pointer: c.pointer, detail: "before 1990" },
        ]);
      }
      expect(await count()).toBe(before);
    });

    it("a couple of minutes of clock skew are tolerated", async () => {
      await write(gw, key, "/v1/engagements", {
        email: "skew@evidence.example",
        kind: "open",
        at: ahead(gw, { minutes: 2 }),
      });
    });

    it("a consent confirmed before it was collected is refused", async () => {
      const before = await count();
      const problem = await expectProblem(
        await gw.request("/v1/consents", {
          method: "POST",
          key,
          json: consentBody("early@evidence.example", ["tips"], ago(gw, { days: 2 }), {
            source: { method: "double-opt-in" },
            confirmedAt: ago(gw, { days: 3 }),
          }),
        }),
        400,
        "invalid-request",
      );
      expect(problem.errors).toEqual([
        { pointer: "/confirmedAt", detail: "must not be before collectedAt" },
      ]);
      expect(await count()).toBe(before);
    });

    it("a last purchase before the relationship began is refused", async () => {
      const problem = await expectProblem(
        await gw.request("/v1/customers", {
          method: "POST",
          key,
          json: {
            email: "backwards@evidence.example",
            kind: "purchase",
            since: ago(gw, { days: 2 }),
            lastPurchaseAt: ago(gw, { days: 3 }),
            categories: ["lenses"],
          },
        }),
        400,
        "invalid-request",
      );
      expect(problem.errors?.map((e) => e.pointer)).toEqual(["/lastPurchaseAt"]);
    });
  });

  describe("topics of consent", () => {
    it("consent to a service topic is refused (not-a-marketing-topic), granted or withdrawn", async () => {
      const before = await count();
      for (const action of ["grant", "withdraw"]) {
        const problem = await expectProblem(
          await gw.request("/v1/consents", {
            method: "POST",
            key,
            json: consentBody(
              "service@evidence.example",
              ["tips", "invoices"],
              ago(gw, { days: 1 }),
              {
                action,
              },
            ),
          }),
          422,
          "not-a-marketing-topic",
        );
        expect(problem.errors).toEqual([{ pointer: "/topics/1", detail: "service topic" }]);
      }
      expect(await count()).toBe(before);
    });
  });
});
