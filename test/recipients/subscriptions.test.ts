import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOutbox } from "../../src/adapters/outbox.js";
import { justifications, outbox } from "../../src/db/schema.js";
import { sha256Hex } from "../../src/domain/digest.js";
import { expectProblem } from "../http/helpers.js";
import { consentData, seedEvidence } from "../messages/seed.js";
import { databaseOf } from "../support/database.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { letTimePass, movedClock, RUNTIMES, servicesBeside } from "../support/runtimes.js";
import {
  DAY,
  decisionOf,
  evidenceCount,
  evidenceOf,
  fetchApp,
  MESSAGE,
  mailedToken,
  postForm,
} from "./helpers.js";

/**
 * Double opt-in (docs/design.md §5): POST /v1/subscriptions → a pending consent and a
 * confirmation mail through the normal delivery path → GET /c/{token} shows a
 * button and changes nothing → POST /c/{token} confirms → the next decision
 * sends on consent.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  /** The gateway's services on its file: seed evidence as the API would not. */
  let services: Awaited<ReturnType<typeof servicesBeside>>;
  let key: string;
  let tenantId: string;

  const WORDING = {
    version: "newsletter-form-2026-11",
    text: "Send me tips about caring for my glasses. I can unsubscribe at any time.",
  };

  beforeAll(async () => {
    gw = await runtime.start();
    services = await servicesBeside(gw);
    ({ key, tenantId } = await createTenantWithTopics(gw));
  });

  afterAll(async () => {
    services?.close();
    await gw?.stop();
  });

  interface SubscriptionAnswer {
    subscriptionId: string;
    expiresAt: string;
    evidence: { id: string; kind: string; topic: string | null }[];
    confirmation: {
      messageId: string;
      justificationId: string;
      decision: string;
      reasons: string[];
      status: string;
    };
  }

  async function subscribe(
    email: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ res: Response; body: SubscriptionAnswer; raw: string }> {
    const res = await gw.request("/v1/subscriptions", {
      method: "POST",
      key,
      json: {
        email,
        topics: ["tips"],
        source: {
          url: "https://optika.example/newsletter",
          ip: "198.51.100.23",
          userAgent: "Mozilla/5.0",
        },
        wording: WORDING,
        ...extra,
      },
    });
    const raw = await res.text();
    return { res, raw, body: JSON.parse(raw) as SubscriptionAnswer };
  }

  /** The confirmation mail in the outbox, and the /c/ path of its link. */
  async function confirmationMail(messageId: string) {
    await deliveriesDone(gw);
    const db = databaseOf(gw);
    const [justification] = await db
      .select()
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    if (!justification) throw new Error("no confirmation justification");
    const [mail] = await readOutbox(db, eq(outbox.justificationId, justification.id));
    if (!mail) throw new Error("no confirmation mail");
    const path = /https?:\/\/[^/"\s]+(\/c\/[A-Za-z0-9_-]+(?:\?lang=cs)?)/.exec(mail.text)?.[1];
    if (!path) throw new Error("no confirmation link");
    return { mail, justification, path };
  }

  describe("double opt-in, end to end", () => {
    const email = "Jana.Nova@Example.cz";
    let answer: SubscriptionAnswer;
    let path: string;

    it("records the pending consent and sends the confirmation mail through the normal path", async () => {
      const before = gw.clock();
      const { res, body, raw } = await subscribe(email);
      expect(res.status, raw).toBe(202);
      answer = body;
      expect(body.subscriptionId).toMatch(/^sub_/);
      // 7 days from when it was asked, on the gateway's clock (exactly so on Node's fixed one).
      const issuedAt = Date.parse(body.expiresAt) - 7 * DAY;
      expect(issuedAt).toBeGreaterThanOrEqual(before);
      expect(issuedAt).toBeLessThanOrEqual(gw.clock());
      expect(body.evidence).toEqual([
        expect.objectContaining({ kind: "consent-granted", topic: "tips" }),
      ]);
      // The API caller never gets the link: only the person may confirm.
      expect(raw).not.toContain("/c/");
      // Answered once proven; the delivery queue hands it over after.
      expect(body.confirmation).toMatchObject({
        decision: "send",
        reasons: [],
        status: "pending",
      });

      const [pending] = await evidenceOf(gw, tenantId, email);
      expect(pending?.data).toMatchObject({
        method: "double-opt-in",
        confirmedAt: null,
        wordingVersion: WORDING.version,
        wordingSha256: await sha256Hex(WORDING.text),
        subscriptionId: body.subscriptionId,
      });
      expect(pending?.personal).toMatchObject({ ip: "198.51.100.0" });

      const confirmation = await confirmationMail(body.confirmation.messageId);
      path = confirmation.path;
      expect(confirmation.mail.to).toBe("Jana.Nova@Example.cz");
      expect(confirmation.mail.subject).toBe("Confirm your subscription to Tips");
      expect(confirmation.mail.html).toContain(`${path}`);
      // It advertises nothing: no unsubscribe headers.
      expect(confirmation.mail.headers["List-Unsubscribe"]).toBeUndefined();
      // Logged like any message: a chained justification, on the person's request.
      expect(confirmation.justification).toMatchObject({
        id: body.confirmation.justificationId,
        decision: "send",
        basis: "contract",
        topic: "tips",
        status: "accepted",
      });
      expect(confirmation.justification.trace).toEqual(
        expect.arrayContaining([expect.objectContaining({ rule: "double-opt-in" })]),
      );
      expect(confirmation.justification.evidence).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: pending?.id })]),
      );
      // Until confirmed, the consent is no basis.
      expect(await decisionOf(gw, key, email, "tips")).toMatchObject({
        decision: "suppress",
        reasons: ["consent-unconfirmed"],
      });
    });

    it("GET and HEAD /c/{token} show the button and change nothing", async () => {
      const before = await evidenceCount(gw);
      const page = await fetchApp(gw, path, { headers: { "accept-language": "en" } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain("Confirm your subscription");
      expect(html).toContain("Optika Praha s.r.o.");
      expect(html).toContain("Tips");
      expect(html).toMatch(
        /<form method="post">[\s\S]*<button type="submit">Confirm my subscription/,
      );
      expect((await fetchApp(gw, path, { method: "HEAD" })).status).toBe(200);
      expect(await evidenceCount(gw)).toBe(before);
    });

    it("POST /c/{token} confirms with time and anonymised IP, and the next decision sends on consent", async () => {
      await letTimePass(gw);
      const before = gw.clock();
      const res = await postForm(gw, path, [["lang", "en"]], { clientIp: "203.0.113.200" });
      const after = gw.clock();
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      expect(await res.text()).toContain("Subscription confirmed");
      const rows = await evidenceOf(gw, tenantId, email);
      const pending = rows.find((e) => e.kind === "consent-granted");
      const confirmed = rows.find((e) => e.kind === "consent-confirmed");
      // Confirmed when the POST was answered, on the gateway's clock (exactly so on Node's).
      expect(confirmed?.occurredAt).toBeGreaterThanOrEqual(before);
      expect(confirmed?.occurredAt).toBeLessThanOrEqual(after);
      expect(confirmed).toMatchObject({
        topic: "tips",
        data: { consentId: pending?.id, subscriptionId: answer.subscriptionId },
        personal: { confirmIp: "203.0.113.0" },
      });
      expect(await decisionOf(gw, key, email, "tips")).toMatchObject({
        decision: "send",
        basis: "consent",
      });
      // A message now reaches them.
      const { token } = await mailedToken(gw, key, email.toLowerCase());
      expect(token.length).toBeGreaterThan(50);
    });

    it("confirming again changes nothing", async () => {
      const before = await evidenceCount(gw);
      const res = await postForm(gw, path, []);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("Subscription confirmed");
      expect(await evidenceCount(gw)).toBe(before);
    });

    it("the link opens the page in Czech when the request asked for it", async () => {
      const { body } = await subscribe("cs@example.cz", { locale: "cs" });
      const { path: csPath } = await confirmationMail(body.confirmation.messageId);
      expect(csPath).toMatch(/\?lang=cs$/);
      const html = await (await fetchApp(gw, csPath)).text();
      expect(html).toContain('<html lang="cs">');
      expect(html).toContain("Potvrzuji přihlášení k odběru");
    });

    it("the confirmation mail itself is in the language of the request", async () => {
      const { body: cs } = await subscribe("cs.mail@example.cz", { locale: "cs" });
      const { mail: csMail } = await confirmationMail(cs.confirmation.messageId);
      expect(csMail.subject).toMatch(/^Potvrďte přihlášení k odběru: /);
      expect(csMail.text).toContain("Potvrďte prosím, že chcete od Optika Praha s.r.o. dostávat");
      // The gateway's part too: why it comes and who sends it, in Czech.
      expect(csMail.text).toContain("protože tato adresa byla zadána k přihlášení k odběru");
      expect(csMail.text).toContain("Tuto zprávu zasílá Optika Praha s.r.o.");
      expect(csMail.html).toContain('lang="cs"');
      expect(csMail.text).not.toContain("Please confirm");

      const { body: en } = await subscribe("en.mail@example.cz");
      const { mail: enMail } = await confirmationMail(en.confirmation.messageId);
      expect(enMail.subject).toMatch(/^Confirm your subscription to /);
      expect(enMail.text).toContain("Please confirm that you want to receive");
    });
  });

  describe("limits of a confirmation", () => {
    // Node only: a link expires after days of the gateway's clock; workerd's is the real one.
    if (runtime.name === "node") {
      it("expires after 7 days: the page says so and nothing is confirmed", async () => {
        const email = "late@example.cz";
        const { body } = await subscribe(email);
        const { path } = await confirmationMail(body.confirmation.messageId);
        movedClock(gw).advance(7 * DAY + 60_000);
        try {
          const page = await fetchApp(gw, path);
          expect(page.status).toBe(410);
          expect(await page.text()).toContain("This confirmation link has expired");
          const before = await evidenceCount(gw);
          expect((await postForm(gw, path, [])).status).toBe(410);
          expect(await evidenceCount(gw)).toBe(before);
          expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual([
            "consent-unconfirmed",
          ]);
        } finally {
          movedClock(gw).advance(-(7 * DAY + 60_000));
        }
      });

      it("expiresInDays shortens it", async () => {
        const { body } = await subscribe("quick@example.cz", { expiresInDays: 1 });
        const { path } = await confirmationMail(body.confirmation.messageId);
        movedClock(gw).advance(DAY + 1);
        try {
          expect((await fetchApp(gw, path)).status).toBe(410);
        } finally {
          movedClock(gw).advance(-(DAY + 1));
        }
      });
    }

    it("throttles repeated requests for one address: three a day", async () => {
      const email = "flood@example.cz";
      for (let i = 0; i < 3; i++) {
        const { res } = await subscribe(email.toUpperCase());
        expect(res.status).toBe(202);
      }
      const refused = await gw.request("/v1/subscriptions", {
        method: "POST",
        key,
        json: { email, topics: ["deals-lenses"], wording: WORDING },
      });
      await expectProblem(refused, 429, "subscription-throttled");
      await deliveriesDone(gw);
      const mails = await databaseOf(gw)
        .select()
        .from(outbox)
        .where(eq(outbox.to, email.toUpperCase()));
      expect(mails).toHaveLength(3);
    });

    // Node only: the throttle is per day of the gateway's clock; workerd's is the real one.
    if (runtime.name === "node") {
      it("… and lets the address ask again a day later", async () => {
        movedClock(gw).advance(DAY + 1);
        const { res } = await subscribe("flood@example.cz");
        expect(res.status).toBe(202);
      });
    }

    it("an unsubscribe token does not confirm, and a confirmation token does not unsubscribe", async () => {
      const email = "crossed@example.cz";
      await seedEvidence(services, tenantId, [
        {
          email,
          kind: "consent-granted",
          topic: "tips",
          at: services.clock() - DAY,
          data: consentData,
        },
      ]);
      const { token: unsubscribeToken } = await mailedToken(gw, key, email);
      const { body } = await subscribe(email, { topics: ["deals-lenses"] });
      const { path } = await confirmationMail(body.confirmation.messageId);
      const confirmToken = path.replace(/^\/c\//, "").replace(/\?.*$/, "");
      const before = await evidenceCount(gw);
      const atC = await postForm(gw, `/c/${unsubscribeToken}`, []);
      expect(atC.status).toBe(404);
      expect(await atC.text()).toContain("This link is not valid");
      const atU = await fetchApp(gw, `/u/${confirmToken}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      });
      expect(atU.status).toBe(404);
      expect(await evidenceCount(gw)).toBe(before);
    });

    it("sends no confirmation to a hard-bounced address, and says why", async () => {
      const email = "bounced@example.cz";
      await seedEvidence(services, tenantId, [
        { email, kind: "suppression", at: services.clock() - DAY, data: { reason: "hard-bounce" } },
      ]);
      const { res, body } = await subscribe(email);
      expect(res.status).toBe(202);
      expect(body.confirmation).toMatchObject({
        decision: "suppress",
        reasons: ["hard-bounce"],
        status: "suppressed",
      });
      expect(await databaseOf(gw).select().from(outbox).where(eq(outbox.to, email))).toHaveLength(
        0,
      );
    });

    it("accepts marketing topics only, and refuses a From outside the verified domains before writing", async () => {
      const service = await gw.request("/v1/subscriptions", {
        method: "POST",
        key,
        json: { email: "x@example.cz", topics: ["invoices"], wording: WORDING },
      });
      await expectProblem(service, 422, "not-a-marketing-topic");
      const before = await evidenceCount(gw);
      const spoofed = await gw.request("/v1/subscriptions", {
        method: "POST",
        key,
        json: {
          email: "x@example.cz",
          topics: ["tips"],
          wording: WORDING,
          from: { email: "news@elsewhere.example" },
        },
      });
      await expectProblem(spoofed, 422, "unverified-sender-domain");
      expect(await evidenceCount(gw)).toBe(before);
    });

    it("a send to the address before confirming is suppressed as unconfirmed", async () => {
      const email = "not-yet@example.cz";
      await subscribe(email);
      const res = await gw.request("/v1/messages", {
        method: "POST",
        key,
        json: { ...MESSAGE, recipients: [{ email }] },
      });
      const answer = (await res.json()) as { results: { decision: string; reasons: string[] }[] };
      expect(answer.results[0]).toMatchObject({
        decision: "suppress",
        reasons: ["consent-unconfirmed"],
      });
    });
  });
});
