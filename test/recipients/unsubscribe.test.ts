import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/domain/digest.js";
import { signUnsubscribeToken, unsubscribeTokenKey } from "../../src/domain/unsubscribe-token.js";
import type { MailProvider } from "../../src/services/delivery/provider.js";
import { seedEvidence } from "../messages/seed.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import {
  letTimePass,
  movedClock,
  nodeHarness,
  RUNTIMES,
  servicesBeside,
} from "../support/runtimes.js";
import {
  consentTo,
  DAY,
  decisionOf,
  evidenceCount,
  evidenceOf,
  fetchApp,
  mailedToken,
  oneClick,
  postForm,
  signedToken,
} from "./helpers.js";

/**
 * `/u/{token}`: RFC 8058 one-click unsubscribe as the big mailbox providers
 * send it, the page behind the link, and what each does to the next decision.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  /** The gateway's services on its file: seed evidence, sign tokens as the gateway does. */
  let services: Awaited<ReturnType<typeof servicesBeside>>;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    gw = await runtime.start();
    services = await servicesBeside(gw);
    ({ key, tenantId } = await createTenantWithTopics(gw));
  });

  afterAll(async () => {
    services?.close();
    await gw?.stop();
  });

  /** A recipient with consent to both marketing topics, and the link of a `tips` mail. */
  async function recipient(email: string) {
    await consentTo(services, tenantId, email, ["tips", "deals-lenses"]);
    return mailedToken(gw, key, email);
  }

  describe("RFC 8058 one-click unsubscribe", () => {
    it("the mail carries the one-click headers, pointing at /u/{token}", async () => {
      const { headers, url } = await recipient("headers@example.cz");
      expect(headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
      expect(headers["List-Unsubscribe"]).toMatch(/^<https?:\/\/[^>]+\/u\/[^>]+>, <mailto:[^>]+>$/);
      expect(url).toMatch(/\/u\/[A-Za-z0-9_-]{100,}$/);
    });

    it("an urlencoded POST with no cookie records the objection before answering 200, without a redirect", async () => {
      const email = "gmail@example.cz";
      const { token, messageId } = await recipient(email);
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
      const before = await evidenceCount(gw);
      const res = await oneClick(gw, token, {
        headers: { "user-agent": "Mozilla/5.0 (compatible; Googlebot-Unsubscribe)" },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await res.text()).toContain("Tips");
      // Durable at once: the row is there when the answer is.
      expect(await evidenceCount(gw)).toBe(before + 1);
      const objection = (await evidenceOf(gw, tenantId, email)).find((e) => e.kind === "objection");
      expect(objection).toMatchObject({
        topic: "tips",
        data: { channel: "one-click", messageId },
      });
      // The very next decision honours it; the other topic is untouched (seed 004).
      expect(await decisionOf(gw, key, email, "tips")).toMatchObject({
        decision: "suppress",
        reasons: ["objected"],
      });
      expect(await decisionOf(gw, key, email, "deals-lenses")).toMatchObject({
        decision: "send",
        basis: "consent",
      });
      // Service messages are not marketing: they still go (docs/design.md §3 rule 2).
      expect((await decisionOf(gw, key, email, "invoices")).decision).toBe("send");
    });

    it("a multipart/form-data POST works the same", async () => {
      const email = "yahoo@example.cz";
      const { token } = await recipient(email);
      const res = await oneClick(gw, token, { multipart: true });
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      expect(await decisionOf(gw, key, email, "tips")).toMatchObject({
        decision: "suppress",
        reasons: ["objected"],
      });
    });

    it("GET and HEAD, as link scanners and prefetchers send them, change nothing", async () => {
      const email = "scanner@example.cz";
      const { token } = await recipient(email);
      const before = await evidenceCount(gw);
      for (let i = 0; i < 3; i++) {
        const get = await fetchApp(gw, `/u/${token}`);
        expect(get.status).toBe(200);
        expect(get.headers.get("content-type")).toMatch(/^text\/html/);
        const head = await fetchApp(gw, `/u/${token}`, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(await head.text()).toBe("");
      }
      expect(await evidenceCount(gw)).toBe(before);
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
    });

    it("a POST without List-Unsubscribe=One-Click (or a page intent) unsubscribes no one", async () => {
      const email = "other-post@example.cz";
      const { token } = await recipient(email);
      const before = await evidenceCount(gw);
      for (const body of ["", "List-Unsubscribe=Yes", "unsubscribe=1"]) {
        const res = await fetchApp(gw, `/u/${token}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body,
        });
        expect(res.status).toBe(400);
      }
      expect(await evidenceCount(gw)).toBe(before);
    });

    // Node only: the provider of the running gateway is replaced by one that is down, which the
    // Worker's (built inside workerd from its bindings) cannot be.
    if (runtime.name === "node") {
      it("works while the provider is down: it never calls the provider", async () => {
        const email = "provider-down@example.cz";
        const { token } = await recipient(email);
        const node = nodeHarness(gw);
        const original = node.deps.provider;
        let calls = 0;
        const down: MailProvider = {
          name: "sendgrid",
          async send() {
            calls += 1;
            throw new Error("provider unreachable");
          },
        };
        node.deps.provider = down;
        try {
          expect((await oneClick(gw, token)).status).toBe(200);
          const page = await fetchApp(gw, `/u/${token}`);
          expect(page.status).toBe(200);
          expect(calls).toBe(0);
        } finally {
          node.deps.provider = original;
        }
        expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["objected"]);
      });
    }
  });

  describe("the page behind the link", () => {
    it("shows the tenant, the topic, a one-button unsubscribe and every marketing topic with its state", async () => {
      const email = "page@example.cz";
      await consentTo(services, tenantId, email, ["tips"]);
      const { token } = await mailedToken(gw, key, email);
      const res = await fetchApp(gw, `/u/${token}`, { headers: { "accept-language": "en" } });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toMatch(/^<!DOCTYPE html>/);
      expect(html).toContain('<html lang="en">');
      expect(html).toContain("Optika Praha s.r.o.");
      expect(html).toContain("Vodičkova 1");
      expect(html).toContain("Unsubscribe from Tips");
      expect(html).toContain('name="intent" value="unsubscribe"');
      // The preference center: both marketing topics, tips ticked, lens deals not; no service topic.
      expect(html).toMatch(/<input[^>]*value="tips"[^>]*checked/);
      expect(html).not.toMatch(/<input[^>]*value="deals-lenses"[^>]*checked/);
      expect(html).toContain("Lens deals");
      expect(html).not.toContain('value="invoices"');
      expect(html).toContain("Unsubscribe from everything");
      // Nothing from elsewhere, no script, nothing to leak the token.
      expect(html).not.toMatch(/<script|https?:\/\/(?!grounds\.test)[a-z]/i);
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("set-cookie")).toBeNull();
    });

    it("speaks Czech from Accept-Language, and switches with ?lang=", async () => {
      const email = "cesky@example.cz";
      const { token } = await recipient(email);
      const cs = await (
        await fetchApp(gw, `/u/${token}`, {
          headers: { "accept-language": "cs-CZ,cs;q=0.9,en;q=0.5" },
        })
      ).text();
      expect(cs).toContain('<html lang="cs">');
      expect(cs).toContain("Odhlásit odběr: Tips");
      expect(cs).toContain("Odhlásit všechny odběry");
      expect(cs).toContain("IČO CZ12345678");
      const en = await (
        await fetchApp(gw, `/u/${token}?lang=en`, { headers: { "accept-language": "cs" } })
      ).text();
      expect(en).toContain('<html lang="en">');
      expect(en).toContain('href="?lang=cs"');
    });

    it("its one button objects to the link's topic only, as a preference-center objection with the wording shown", async () => {
      const email = "button@example.cz";
      const { token } = await recipient(email);
      const res = await postForm(
        gw,
        `/u/${token}`,
        [
          ["intent", "unsubscribe"],
          ["lang", "en"],
        ],
        { clientIp: "198.51.100.77", headers: { "user-agent": "Firefox" } },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      const html = await res.text();
      expect(html).toContain("you are unsubscribed from “Tips”");
      const objection = (await evidenceOf(gw, tenantId, email)).find((e) => e.kind === "objection");
      expect(objection?.topic).toBe("tips");
      expect(objection?.data).toMatchObject({
        channel: "preference-center",
        wordingVersion: "grounds-preference-center/en/1",
      });
      expect(objection?.data.wordingSha256).toMatch(/^[0-9a-f]{64}$/);
      // The IP is kept anonymised (docs/design.md §2).
      expect(objection?.personal).toMatchObject({ ip: "198.51.100.0", userAgent: "Firefox" });
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["objected"]);
      expect((await decisionOf(gw, key, email, "deals-lenses")).decision).toBe("send");
    });

    it("“unsubscribe from everything” objects to all marketing (*), and leaves service messages", async () => {
      const email = "everything@example.cz";
      const { token } = await recipient(email);
      const res = await postForm(gw, `/u/${token}`, [["intent", "unsubscribe-all"]]);
      expect(res.status).toBe(200);
      const objection = (await evidenceOf(gw, tenantId, email)).find((e) => e.kind === "objection");
      expect(objection).toMatchObject({ topic: "*", data: { channel: "preference-center" } });
      for (const topic of ["tips", "deals-lenses"]) {
        expect(await decisionOf(gw, key, email, topic)).toMatchObject({
          decision: "suppress",
          reasons: ["objected"],
        });
      }
      expect((await decisionOf(gw, key, email, "invoices")).decision).toBe("send");
      // The page now shows nothing ticked.
      expect(await res.text()).not.toMatch(/<input[^>]*type="checkbox"[^>]*checked/);
    });

    it("saving the topics records each change: an objection for one unticked, a fresh consent for one ticked", async () => {
      const email = "switch@example.cz";
      await consentTo(services, tenantId, email, ["tips"]);
      const { token } = await mailedToken(gw, key, email);
      const res = await postForm(
        gw,
        `/u/${token}`,
        [
          ["intent", "save"],
          ["lang", "cs"],
          ["topic", "deals-lenses"],
        ],
        { clientIp: "2001:db8:1234:5678::9" },
      );
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain("Nastavení je uloženo");
      expect(html).toMatch(/<input[^>]*value="deals-lenses"[^>]*checked/);
      expect(html).not.toMatch(/<input[^>]*value="tips"[^>]*checked/);
      const rows = await evidenceOf(gw, tenantId, email);
      const grant = rows.find((e) => e.kind === "consent-granted" && e.topic === "deals-lenses");
      const objection = rows.find((e) => e.kind === "objection");
      expect(objection).toMatchObject({ topic: "tips", data: { channel: "preference-center" } });
      expect(grant?.data).toMatchObject({
        method: "preference-center",
        wordingVersion: "grounds-preference-center/cs/1",
      });
      // The wording is the exact text shown beside the ticked topic.
      const shown =
        "Zaškrtnutím tématu souhlasím, že mi ho bude společnost Optika Praha s.r.o. posílat e-mailem. Odhlásit se mohu kdykoli a zdarma.\nLens deals";
      expect(grant?.data.wordingSha256).toBe(await sha256Hex(shown));
      expect(grant?.personal).toMatchObject({ ip: "2001:db8:1234::" });
      expect(await decisionOf(gw, key, email, "deals-lenses")).toMatchObject({
        decision: "send",
        basis: "consent",
      });
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["objected"]);
      // Saving the same again changes nothing.
      const before = await evidenceCount(gw);
      const again = await postForm(gw, `/u/${token}`, [
        ["intent", "save"],
        ["topic", "deals-lenses"],
      ]);
      expect(await again.text()).toContain("Nothing to change");
      expect(await evidenceCount(gw)).toBe(before);
    });

    it("re-subscribing after an unsubscribe records a fresh consent the next decision sends on", async () => {
      const email = "comeback@example.cz";
      const { token } = await recipient(email);
      expect((await oneClick(gw, token)).status).toBe(200);
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["objected"]);
      await letTimePass(gw);
      const res = await postForm(gw, `/u/${token}`, [
        ["intent", "save"],
        ["topic", "tips"],
        ["topic", "deals-lenses"],
      ]);
      expect(res.status).toBe(200);
      expect(await decisionOf(gw, key, email, "tips")).toMatchObject({
        decision: "send",
        basis: "consent",
      });
      const grants = (await evidenceOf(gw, tenantId, email)).filter(
        (e) => e.kind === "consent-granted" && e.data.method === "preference-center",
      );
      expect(grants.map((g) => g.topic)).toEqual(["tips"]);
    });
    it("for a restricted address (GDPR Art. 18) offers no topics to tick, but still takes an objection", async () => {
      const email = "restricted@example.cz";
      const token = signedToken(services, tenantId, email);
      await seedEvidence(services, tenantId, [
        { email, kind: "suppression", at: services.clock() - DAY, data: { reason: "restricted" } },
      ]);
      const html = await (await fetchApp(gw, `/u/${token}`)).text();
      expect(html).toContain("We do not send e-mails to this address at the moment");
      expect(html).not.toContain('type="checkbox"');
      expect(html).toContain('value="unsubscribe-all"');
      // A tampered save records no consent.
      const before = await evidenceCount(gw);
      await postForm(gw, `/u/${token}`, [
        ["intent", "save"],
        ["topic", "tips"],
      ]);
      expect(await evidenceCount(gw)).toBe(before);
      expect((await postForm(gw, `/u/${token}`, [["intent", "unsubscribe-all"]])).status).toBe(200);
      expect((await oneClick(gw, token)).status).toBe(200);
      expect(await evidenceCount(gw)).toBe(before + 2);
    });
  });

  describe("links that are not genuine", () => {
    const neutral = async (res: Response) => ({ status: res.status, body: await res.text() });

    it("forged, damaged, foreign-tenant, unknown-tenant and expired tokens are refused identically, changing nothing", async () => {
      const email = "victim@example.cz";
      const { token } = await recipient(email);
      const flipped = `${token.slice(0, 40)}${token[40] === "A" ? "B" : "A"}${token.slice(41)}`;
      const otherInstallation = signUnsubscribeToken(unsubscribeTokenKey("another-secret"), {
        tenantId,
        subjectKey: "ab".repeat(32),
        topic: "tips",
        messageId: "msg_00",
        issuedAt: services.clock(),
      });
      const unknownTenant = signUnsubscribeToken(services.deps.tokenKey, {
        tenantId: "ten_0123456789abcdef0123456789abcdef",
        subjectKey: "ab".repeat(32),
        topic: "tips",
        messageId: "msg_00",
        issuedAt: services.clock(),
      });
      const expired = signUnsubscribeToken(services.deps.tokenKey, {
        tenantId,
        subjectKey: "ab".repeat(32),
        topic: "tips",
        messageId: "msg_00",
        issuedAt: services.clock() - 401 * DAY,
      });
      const bad = [
        "forged0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
        flipped,
        token.slice(0, -3),
        otherInstallation,
        unknownTenant,
        expired,
      ];
      const before = await evidenceCount(gw);
      const pages = new Set<string>();
      const texts = new Set<string>();
      for (const t of bad) {
        const page = await neutral(await fetchApp(gw, `/u/${t}`));
        expect(page.status).toBe(404);
        pages.add(page.body);
        const post = await neutral(await oneClick(gw, t));
        expect(post.status).toBe(404);
        texts.add(post.body);
        const form = await neutral(await postForm(gw, `/u/${t}`, [["intent", "unsubscribe-all"]]));
        expect(form.status).toBe(404);
        pages.add(form.body);
      }
      // One answer for all of them: it says nothing about which it was, or about any address.
      expect(pages.size).toBe(1);
      expect(texts.size).toBe(1);
      const [page] = [...pages];
      expect(page).toContain("This link is not valid");
      expect(page).not.toContain("Optika");
      expect(await evidenceCount(gw)).toBe(before);
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
    });

    it("a genuine link still works a year later", async () => {
      const email = "a-year-later@example.cz";
      const { messageId } = await recipient(email);
      // The link of that mail as it was issued a year ago: signed as the gateway signs it.
      const token = signedToken(
        services,
        tenantId,
        email,
        "tips",
        messageId,
        gw.clock() - 365 * DAY,
      );
      expect((await fetchApp(gw, `/u/${token}`)).status).toBe(200);
      expect((await oneClick(gw, token)).status).toBe(200);
      const objection = (await evidenceOf(gw, tenantId, email)).find((e) => e.kind === "objection");
      expect(objection?.topic).toBe("tips");
    });
  });

  describe("rate limits", () => {
    let viewed: string;

    it("limits page views per token", async () => {
      const token = signedToken(services, tenantId, "views@example.cz");
      viewed = token;
      for (let i = 0; i < 60; i++) expect((await fetchApp(gw, `/u/${token}`)).status).toBe(200);
      const limited = await fetchApp(gw, `/u/${token}`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await limited.text()).toContain("Too many requests");
      // Another token is not affected.
      expect(
        (await fetchApp(gw, `/u/${signedToken(services, tenantId, "other@example.cz")}`)).status,
      ).toBe(200);
    });

    // Node only: the window is 10 minutes of the gateway's clock; workerd's is the real one.
    if (runtime.name === "node") {
      it("… and lets the window pass", async () => {
        movedClock(gw).advance(10 * 60_000);
        expect((await fetchApp(gw, `/u/${viewed}`)).status).toBe(200);
      });
    }

    it("limits repeated one-click POSTs per token, after recording the first", async () => {
      const email = "hammer@example.cz";
      const token = signedToken(services, tenantId, email);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await oneClick(gw, token)).status);
      expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(200));
      expect(statuses.slice(10)).toEqual([429, 429]);
      const objections = (await evidenceOf(gw, tenantId, email)).filter(
        (e) => e.kind === "objection",
      );
      expect(objections).toHaveLength(10);
    });

    it("limits requests per client IP, but never a genuine one-click unsubscribe", async () => {
      const ip = { clientIp: "203.0.113.50" };
      let status = 0;
      let count = 0;
      while (count < 200) {
        count += 1;
        status = (await fetchApp(gw, `/u/not-a-token-${count}`, ip)).status;
        if (status === 429) break;
      }
      expect(status).toBe(429);
      expect(count).toBe(121);
      // The same client's page views are limited now …
      const token = signedToken(services, tenantId, "behind-nat@example.cz");
      expect((await fetchApp(gw, `/u/${token}`, ip)).status).toBe(429);
      // … but a mailbox provider's one-click POST from that address is honoured.
      expect((await oneClick(gw, token, ip)).status).toBe(200);
      // Other clients are not affected.
      expect((await fetchApp(gw, `/u/${token}`, { clientIp: "203.0.113.51" })).status).toBe(200);
    });
  });
});
