import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createSendGridProvider,
  type SendGridProviderOptions,
} from "../../src/adapters/sendgrid.js";
import { createFetchSendGridProvider } from "../../src/adapters/sendgrid-fetch.js";
import type { OutgoingMail, Personalization } from "../../src/services/delivery/provider.js";
import {
  randomApiKey,
  type SendGridServer,
  startSendGridServer,
} from "../support/sendgrid-server.js";

/**
 * Both SendGrid providers — Node's, through the real `@sendgrid/mail` client, and the Workers'
 * one, through plain `fetch` — against a local server that behaves like SendGrid's v3 mail/send
 * (test/support/sendgrid-server.ts), with the same expectations: what one puts on the wire, how
 * it retries and what it reports, the other must too. Waits go through a fake `sleep`, so
 * retries are instant and their lengths can be asserted.
 */

const PROVIDERS = [
  ["@sendgrid/mail", createSendGridProvider],
  ["fetch", createFetchSendGridProvider],
] as const;

// On a second boundary, so `X-RateLimit-Reset` (whole seconds) converts to an exact wait.
const NOW = Date.parse("2026-11-23T12:00:00Z");
const clock = () => NOW;

let server: SendGridServer;
let defaultKey: string;
let tenantKey: string;
const waits: number[] = [];

beforeAll(async () => {
  defaultKey = randomApiKey();
  tenantKey = randomApiKey();
  server = await startSendGridServer({ apiKeys: [defaultKey, tenantKey], now: clock });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.reset();
  waits.length = 0;
});

let create: (typeof PROVIDERS)[number][1] = createSendGridProvider;

function provider(options: Partial<SendGridProviderOptions> = {}) {
  return create({
    apiKey: defaultKey,
    apiUrl: server.url,
    baseDelayMs: 100,
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0.5,
    now: clock,
    ...options,
  });
}

function recipient(i: number): Personalization {
  return {
    to: [{ email: `reader${i}@example.cz`, name: `Reader ${i}` }],
    headers: {
      "List-Unsubscribe": `<https://grounds.example/u/tok${i}>, <mailto:u+tok${i}@grounds.example>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
    substitutions: { "%%grounds:name%%": `Reader ${i}` },
    custom_args: { justification_id: `j_${i}` },
  };
}

function mailTo(count: number): OutgoingMail {
  return {
    from: { email: "news@optika.example", name: "Optika" },
    subject: "Novinky",
    content: [
      { type: "text/plain", value: "Hello %%grounds:name%%" },
      { type: "text/html", value: "<p>Hello %%grounds:name%%</p>" },
    ],
    personalizations: Array.from({ length: count }, (_, i) => recipient(i)),
  };
}

describe.each(PROVIDERS)("the provider through %s", (_, factory) => {
  beforeAll(() => {
    create = factory;
  });

  describe("what arrives at SendGrid", () => {
    it("sends the mail exactly as given: per-personalization headers, substitutions, custom_args, content order", async () => {
      const mail: OutgoingMail = {
        from: { email: "news@optika.example", name: "Optika s.r.o." },
        reply_to: { email: "pomoc@optika.example", name: "Zákaznická linka" },
        subject: "Novinky pro %%grounds:name%%",
        content: [
          { type: "text/plain", value: "Dobrý den, %%grounds:name%%. Odhlásit: %%grounds:unsub%%" },
          {
            type: "text/html",
            value: '<p>Dobrý den, %%grounds:name%%.</p><a href="%%grounds:unsub%%">Odhlásit</a>',
          },
        ],
        personalizations: [
          {
            to: [{ email: "jana.novakova@example.cz", name: "Jana Nováková" }],
            headers: {
              "List-Unsubscribe":
                "<https://grounds.example/u/tokA>, <mailto:u+tokA@grounds.example>",
              "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
              "X-Grounds-Justification": "j_A",
            },
            // Keys of every shape the helper might be tempted to convert or wrap.
            substitutions: {
              "%%grounds:name%%": "Jana",
              "%%grounds:unsub%%": "https://grounds.example/u/tokA",
              camelCaseKey: "1",
              snake_case_key: "2",
              "kebab-key": "3",
              "{{braced}}": "4",
            },
            custom_args: { justification_id: "j_A", messageId: "m_1", "topic-id": "tips" },
          },
          {
            to: [{ email: "petr@example.cz" }],
            headers: {
              "List-Unsubscribe":
                "<https://grounds.example/u/tokB>, <mailto:u+tokB@grounds.example>",
              "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            substitutions: {
              "%%grounds:name%%": "Petr",
              "%%grounds:unsub%%": "https://grounds.example/u/tokB",
            },
            custom_args: { justification_id: "j_B" },
          },
        ],
        headers: { "X-Entity-Ref-ID": "m_1", "Feedback-ID": "tips:tenant1:grounds" },
        categories: ["tips", "grounds"],
        custom_args: { message_id: "m_1", tenantId: "t_1" },
        send_at: Math.floor(NOW / 1000) + 3600,
      };
      const outcome = await provider().send(mail);

      expect(server.requests).toHaveLength(1);
      const [request] = server.requests;
      expect(outcome).toEqual({ status: "accepted", providerMessageId: request?.messageId });
      expect(request?.body).toEqual(mail);
      // Order matters for content (text/plain first), so check it beyond deep equality.
      expect(request?.body.content?.map((c) => c.type)).toEqual(["text/plain", "text/html"]);
      expect(request?.headers.authorization).toBe(`Bearer ${defaultKey}`);
      expect(request?.headers["content-type"]).toMatch(/^application\/json/);
    });

    it("passes on attachments, reply_to_list, batch_id, ip_pool_name and tracking settings exactly", async () => {
      const pdf = Buffer.from("%PDF-1.4 invoice 2026-117\n%%EOF\n").toString("base64");
      const logo = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString("base64");
      const mail: OutgoingMail = {
        ...mailTo(2),
        reply_to_list: [{ email: "a@optika.example", name: "A" }, { email: "b@optika.example" }],
        attachments: [
          {
            content: pdf,
            filename: "invoice.pdf",
            type: "application/pdf",
            disposition: "attachment",
          },
          {
            content: logo,
            filename: "logo.png",
            type: "image/png",
            disposition: "inline",
            content_id: "logo",
          },
        ],
        batch_id: "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi",
        ip_pool_name: "marketing",
        tracking_settings: {
          click_tracking: { enable: true, enable_text: false },
          open_tracking: { enable: true, substitution_tag: "%open-track%" },
          subscription_tracking: { enable: false },
          ganalytics: { enable: true, utm_source: "newsletter", utm_campaign: "autumn_sale" },
        },
      };
      const outcome = await provider().send(mail);
      expect(outcome.status).toBe("accepted");
      expect(server.requests[0]?.body).toEqual(mail);
    });

    it("uses the tenant's own key when given and the installation's otherwise, never mixing them", async () => {
      const p = provider();
      const tagged = (tag: string): OutgoingMail => ({ ...mailTo(1), custom_args: { tag } });
      await Promise.all([
        p.send(tagged("tenant-1"), { apiKey: tenantKey }),
        p.send(tagged("default-1")),
        p.send(tagged("tenant-2"), { apiKey: tenantKey, tenantId: "t_2" }),
        p.send(tagged("default-2"), { tenantId: "t_3" }),
      ]);
      expect(server.requests).toHaveLength(4);
      for (const request of server.requests) {
        const expected = request.body.custom_args?.tag?.startsWith("tenant")
          ? tenantKey
          : defaultKey;
        expect(request.headers.authorization).toBe(`Bearer ${expected}`);
      }
    });

    it("accepts 1,000 personalizations, and the fake refuses 1,001 as SendGrid documents", async () => {
      const p = provider();
      expect((await p.send(mailTo(1000))).status).toBe("accepted");
      expect(server.requests[0]?.body.personalizations).toHaveLength(1000);

      const refused = await p.send(mailTo(1001));
      expect(refused.status).toBe("failed");
      expect(refused.status === "failed" && refused.error).toMatch(
        /^400: The personalization block is limited to 1000 personalizations per API request\. You have provided 1001/,
      );
      expect(server.attempts).toHaveLength(2); // a 400 is not retried
    });
  });

  describe("retries", () => {
    it("retries a 429 after the Retry-After the server asked for", async () => {
      server.failNext(429, 1, { retryAfter: 3, hint: "retry-after" });
      const outcome = await provider().send(mailTo(2));
      expect(outcome.status).toBe("accepted");
      expect(server.attempts.map((a) => a.status)).toEqual([429, 202]);
      expect(waits).toEqual([3000]);
    });

    it("retries a 429 at SendGrid's X-RateLimit-Reset when that is the only hint", async () => {
      server.failNext(429, 1, { retryAfter: 7, hint: "x-ratelimit-reset" });
      const outcome = await provider().send(mailTo(2));
      expect(outcome.status).toBe("accepted");
      expect(waits).toEqual([7000]);
    });

    it("bounds what the server asks for", async () => {
      server.failNext(429, 1, { retryAfter: 3600 });
      const outcome = await provider({ maxDelayMs: 10_000 }).send(mailTo(1));
      expect(outcome.status).toBe("accepted");
      expect(waits).toEqual([10_000]);
    });

    it("backs off exponentially with jitter when there is no hint", async () => {
      server.failNext(503, 2);
      server.failNext(500, 1);
      server.failNext(429, 1); // no hint headers
      const outcome = await provider({ maxAttempts: 5 }).send(mailTo(1));
      expect(outcome.status).toBe("accepted");
      expect(server.attempts.map((a) => a.status)).toEqual([503, 503, 500, 429, 202]);
      // Full jitter with random() = 0.5: half of 100, 200, 400, 800 ms.
      expect(waits).toEqual([50, 100, 200, 400]);

      // And the jitter is real: the wait is random() times the ceiling.
      waits.length = 0;
      server.failNext(500, 2);
      await provider({ random: () => 0.25, baseDelayMs: 1000 }).send(mailTo(1));
      expect(waits).toEqual([250, 500]);
    });

    it("gives up after maxAttempts of 500 and reports a retryable failure, never throwing", async () => {
      server.failNext(500, 10);
      const outcome = await provider().send(mailTo(3));
      // A few quick tries; a longer outage is the delivery queue's to wait out.
      expect(outcome).toEqual({
        status: "failed",
        error: "500: internal server error (after 3 attempts)",
        retryable: true,
        retryAfterMs: null,
      });
      expect(server.attempts).toHaveLength(3);
      expect(server.requests).toHaveLength(0);
      expect(waits).toHaveLength(2);
    });

    it("summarises a gateway's HTML error page by its status", async () => {
      server.failNext(502, 3);
      const outcome = await provider({ maxAttempts: 3 }).send(mailTo(1));
      expect(outcome).toEqual({
        status: "failed",
        error: "502: Bad Gateway (after 3 attempts)",
        retryable: true,
        retryAfterMs: null,
      });
    });

    it("never retries a connection dropped after the request was sent: its outcome is unknown", async () => {
      server.failNext("disconnect", 1);
      const outcome = await provider().send(mailTo(1));
      expect(outcome.status).toBe("unknown");
      expect(server.attempts).toHaveLength(1);
      expect(waits).toEqual([]);
    });

    it("a reset after SendGrid took the mail is unknown: the mail is not sent twice", async () => {
      server.setMode({ mode: "reset-after-accept" });
      const outcome = await provider().send(mailTo(2));
      expect(outcome).toEqual({ status: "unknown", error: expect.stringMatching(/^network: /) });
      expect(server.requests).toHaveLength(1);
      expect(server.attempts).toHaveLength(1);
    });

    it("an answer that comes after the timeout is unknown, and not sent again", async () => {
      server.setMode({ mode: "slow-accept", delayMs: 2_000 });
      const outcome = await provider({ timeoutMs: 200 }).send(mailTo(2));
      expect(outcome.status).toBe("unknown");
      expect(server.requests).toHaveLength(1);
      expect(server.attempts).toHaveLength(1);
    });

    it("a server that never answers is unknown too: the client cannot tell it took nothing", async () => {
      server.setMode({ mode: "hang" });
      const outcome = await provider({ timeoutMs: 200 }).send(mailTo(2));
      expect(outcome.status).toBe("unknown");
      expect(server.requests).toHaveLength(0);
      expect(server.attempts).toHaveLength(1);
    });

    it("an outage (500 on every call) or a standing rate limit is a retryable failure", async () => {
      server.setMode({ mode: "500" });
      expect(await provider().send(mailTo(1))).toMatchObject({ status: "failed", retryable: true });
      server.setMode({ mode: "429", retryAfter: 20 });
      expect(await provider({ maxAttempts: 1 }).send(mailTo(1))).toMatchObject({
        status: "failed",
        retryable: true,
        retryAfterMs: 20_000,
      });
      expect(server.requests).toHaveLength(0);
    });

    it("reports an unreachable provider as a network failure", async () => {
      const gone = await startSendGridServer();
      const url = gone.url;
      await gone.close();
      const outcome = await provider({ apiUrl: url, maxAttempts: 2 }).send(mailTo(1));
      // Refused before anything was sent: retried, and retryable later.
      expect(outcome).toEqual({
        status: "failed",
        error: "network: ECONNREFUSED (after 2 attempts)",
        retryable: true,
        retryAfterMs: null,
      });
    });
  });

  describe("final refusals", () => {
    it("does not retry a 400, and summarises it without the addresses SendGrid quotes", async () => {
      const mail = mailTo(2);
      mail.personalizations[0] = {
        to: [{ email: "jana@example.cz" }, { email: "Jana@Example.cz" }],
      };
      mail.personalizations[1] = { to: [{ email: "not-an-address" }] };
      const outcome = await provider().send(mail);

      expect(server.attempts).toHaveLength(1);
      expect(waits).toEqual([]);
      // The server's own message names the duplicate address; the summary must not.
      expect(JSON.stringify(server.attempts[0]?.errors)).toMatch(/\[jana@example\.cz\]/i);
      expect(outcome.status).toBe("failed");
      const error = outcome.status === "failed" ? outcome.error : "";
      expect(error).toMatch(/^400: /);
      expect(error).toContain("duplicate instance of [<address>]");
      expect(error).toContain("Does not contain a valid address. (personalizations.1.to.0.email)");
      expect(error).not.toMatch(/@|jana|not-an-address/i);
    });

    it("reports a key SendGrid does not know as a 401, once", async () => {
      const outcome = await provider({ apiKey: randomApiKey() }).send(mailTo(1));
      expect(outcome).toEqual({
        status: "failed",
        error: "401: The provided authorization grant is invalid, expired, or revoked",
        retryable: false,
        retryAfterMs: null,
      });
      expect(server.attempts).toHaveLength(1);
    });

    it("fails without a request when there is no key at all", async () => {
      const outcome = await provider({ apiKey: "" }).send(mailTo(1));
      expect(outcome).toEqual({
        status: "failed",
        error: "no SendGrid API key configured",
        retryable: false,
        retryAfterMs: null,
      });
      expect(server.attempts).toHaveLength(0);
    });

    it("refuses a field it would not pass on, rather than dropping it", async () => {
      const mail = { ...mailTo(1), asm: { group_id: 7 } } as OutgoingMail;
      const outcome = await provider().send(mail);
      expect(outcome).toEqual({
        status: "failed",
        error: "refused before sending: unsupported mail field(s): asm",
        retryable: false,
        retryAfterMs: null,
      });
      expect(server.attempts).toHaveLength(0);
    });
  });
});
