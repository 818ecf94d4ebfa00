import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  MAX_BODY_BYTES,
  RESERVED_HEADERS,
  type SendGridError,
  type SendGridServer,
  startSendGridServer,
} from "../support/sendgrid-server.js";

/**
 * The SendGrid stand-in's own rules, spoken to with plain `fetch` (as a Worker would): each
 * documented limit is checked at its boundary, so a test that passes against the fake is not
 * passing because the fake is lax. Sources are cited in test/support/sendgrid-server.ts.
 */

const NOW = Date.parse("2026-11-23T12:00:00Z");
let server: SendGridServer;

beforeAll(async () => {
  server = await startSendGridServer({ now: () => NOW });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => server.reset());

type Body = Record<string, unknown>;

function valid(overrides: Body = {}): Body {
  return {
    personalizations: [{ to: [{ email: "jana@example.cz", name: "Jana Nováková" }] }],
    from: { email: "news@optika.example", name: "Optika" },
    subject: "Novinky",
    content: [
      { type: "text/plain", value: "Hello" },
      { type: "text/html", value: "<p>Hello</p>" },
    ],
    ...overrides,
  };
}

async function post(body: unknown, init: { key?: string | null; raw?: BodyInit } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const key = init.key === undefined ? server.apiKey : init.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${server.url}/v3/mail/send`, {
    method: "POST",
    headers,
    body: init.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  const errors = text.startsWith("{")
    ? (JSON.parse(text) as { errors: SendGridError[] }).errors
    : [];
  return { res, text, errors, messages: errors.map((e) => e.message) };
}

/** Posts and expects a single 400 whose message matches. */
async function refused(body: unknown, message: RegExp | string) {
  const { res, messages } = await post(body);
  expect(res.status).toBe(400);
  // A string is the exact message; a pattern matches part of one.
  const expected = typeof message === "string" ? message : expect.stringMatching(message);
  expect(messages).toEqual(expect.arrayContaining([expected]));
  expect(server.requests).toHaveLength(0);
}

const people = (n: number, domain = "example.cz") =>
  Array.from({ length: n }, (_, i) => ({ email: `r${i}@${domain}` }));

describe("accepting", () => {
  it("answers 202 with an empty body and an X-Message-Id, and records what it accepted", async () => {
    const body = valid();
    const { res, text } = await post(body);
    expect(res.status).toBe(202);
    expect(text).toBe("");
    const id = res.headers.get("x-message-id");
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      body,
      messageId: id,
      status: 202,
      path: "/v3/mail/send",
    });
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${server.apiKey}`);
  });

  it("takes the subject from every personalization instead of the message", async () => {
    const body = valid({
      subject: undefined,
      personalizations: [
        { to: people(1), subject: "A" },
        { to: [{ email: "x@example.cz" }], subject: "B" },
      ],
    });
    expect((await post(body)).res.status).toBe(202);
  });
});

describe("authentication", () => {
  it("wants a Bearer key", async () => {
    const { res, errors } = await post(valid(), { key: null });
    expect(res.status).toBe(401);
    expect(errors).toEqual([{ message: "authorization required", field: null, help: null }]);
  });

  it("refuses a key it does not know, with SendGrid's body", async () => {
    const { res, text } = await post(valid(), { key: "SG.nope.nope" });
    expect(res.status).toBe(401);
    expect(JSON.parse(text)).toEqual({
      errors: [
        {
          message: "The provided authorization grant is invalid, expired, or revoked",
          field: null,
          help: null,
        },
      ],
    });
    expect(server.attempts[0]?.status).toBe(401);
  });
});

describe("personalizations and recipients", () => {
  it("wants at least one personalization", async () => {
    await refused(
      valid({ personalizations: undefined }),
      "You must have at least one personalization.",
    );
    await refused(valid({ personalizations: [] }), "You must have at least one personalization.");
  });

  it("takes 1,000 personalizations and refuses 1,001", async () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ to: [{ email: `r${i}@example.cz` }] }));
    expect((await post(valid({ personalizations: many(1000) }))).res.status).toBe(202);
    server.reset();
    await refused(
      valid({ personalizations: many(1001) }),
      /^The personalization block is limited to 1000 personalizations per API request\. You have provided 1001 personalizations\./,
    );
  });

  it("takes 1,000 recipients (to + cc + bcc) in all and refuses 1,001", async () => {
    const split = valid({
      personalizations: [
        {
          to: people(400, "a.example"),
          cc: people(300, "b.example"),
          bcc: people(300, "c.example"),
        },
      ],
    });
    expect((await post(split)).res.status).toBe(202);
    server.reset();
    await refused(
      valid({ personalizations: [{ to: people(1001) }] }),
      "There is a limit of 1000 total recipients (to + cc + bcc) per request.",
    );
    await refused(
      valid({
        personalizations: Array.from({ length: 501 }, (_, i) => ({
          to: [{ email: `a${i}@example.cz` }, { email: `b${i}@example.cz` }],
        })),
      }),
      "There is a limit of 1000 total recipients (to + cc + bcc) per request.",
    );
  });

  it("wants a to in every personalization", async () => {
    const message = "The to parameter is required for all personalization objects.";
    await refused(valid({ personalizations: [{ to: people(1) }, { cc: people(1) }] }), message);
    await refused(valid({ personalizations: [{ to: [] }] }), message);
  });

  it("refuses addresses that are not addresses", async () => {
    for (const email of [
      "jana",
      "jana@",
      "@example.cz",
      "jana@example",
      "Jana <jana@example.cz>",
      "ja na@example.cz",
      42,
    ]) {
      const { res, errors } = await post(valid({ personalizations: [{ to: [{ email }] }] }));
      expect(res.status, String(email)).toBe(400);
      expect(errors).toContainEqual({
        message: "Does not contain a valid address.",
        field: "personalizations.0.to.0.email",
        help: expect.stringContaining("errors.html#message.personalizations.to"),
      });
    }
    expect(server.requests).toHaveLength(0);
  });

  it("refuses the same address twice in one personalization, quoting it as SendGrid does", async () => {
    await refused(
      valid({
        personalizations: [
          { to: [{ email: "jana@example.cz" }], bcc: [{ email: "JANA@example.cz" }] },
        ],
      }),
      /^Each email address in the personalization block should be unique between to, cc, and bcc\. We found the first duplicate instance of \[JANA@example\.cz\]/,
    );
  });

  it("refuses ; and , in recipient names", async () => {
    await refused(
      valid({ personalizations: [{ to: [{ email: "jana@example.cz", name: "Nováková, Jana" }] }] }),
      /cannot include either the ; or , characters/,
    );
  });
});

describe("from, subject, content", () => {
  it("wants from.email, a valid one", async () => {
    await refused(
      valid({ from: undefined }),
      /^The from object must be provided for every email send/,
    );
    await refused(valid({ from: { name: "Optika" } }), /^The from object must be provided/);
    await refused(
      valid({ from: { email: "optika" } }),
      /^The from object must at least have an email parameter with a valid email address/,
    );
  });

  it("wants a subject, non-empty", async () => {
    await refused(valid({ subject: undefined }), /^The subject is required\./);
    await refused(
      valid({ subject: "" }),
      "The subject of your email must be a string at least one character in length.",
    );
    await refused(
      valid({
        subject: undefined,
        personalizations: [{ to: people(1), subject: "A" }, { to: [{ email: "x@example.cz" }] }],
      }),
      /^The subject is required\./,
    );
  });

  it("wants content with non-empty values", async () => {
    await refused(
      valid({ content: undefined }),
      /^The content param is required unless you are using a transactional template/,
    );
    await refused(valid({ content: [] }), /^There must be at least one defined content block\./);
    await refused(
      valid({ content: [{ type: "text/plain", value: "" }] }),
      "The content value must be a string at least one character in length.",
    );
  });

  it("wants text/plain before text/html", async () => {
    await refused(
      valid({
        content: [
          { type: "text/html", value: "<p>Hi</p>" },
          { type: "text/plain", value: "Hi" },
        ],
      }),
      /^Following RFC 1341, section 7\.2, if either text\/html or text\/plain are to be sent in your email: text\/plain needs to be first, followed by text\/html/,
    );
    const htmlOnly = valid({ content: [{ type: "text/html", value: "<p>Hi</p>" }] });
    expect((await post(htmlOnly)).res.status).toBe(202);
  });

  it("excuses subject and content when a template is used", async () => {
    const body = valid({
      subject: undefined,
      content: undefined,
      template_id: "d-0123456789abcdef",
    });
    expect((await post(body)).res.status).toBe(202);
  });
});

describe("headers", () => {
  it("refuses every reserved header name, in any case, per personalization and for the message", async () => {
    for (const name of RESERVED_HEADERS) {
      for (const spelled of [name, name.toUpperCase()]) {
        const own = await post(
          valid({ personalizations: [{ to: people(1), headers: { [spelled]: "x" } }] }),
        );
        expect(own.res.status, spelled).toBe(400);
        expect(own.messages[0]).toMatch(/^Header can't be one of the reserved keys\./);
        const global = await post(valid({ headers: { [spelled]: "x" } }));
        expect(global.res.status, spelled).toBe(400);
      }
    }
    const fine = valid({
      personalizations: [
        {
          to: people(1),
          headers: {
            "List-Unsubscribe": "<https://g.example/u/t>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
          },
        },
      ],
    });
    expect((await post(fine)).res.status).toBe(202);
  });

  it("wants string values and plain ASCII names", async () => {
    await refused(
      valid({ personalizations: [{ to: people(1), headers: { "X-Count": 3 } }] }),
      "All values of the headers object must be strings.",
    );
    await refused(
      valid({ headers: { "X Bad": "1" } }),
      "Header keys can't contain non-ASCII characters or empty spaces.",
    );
    await refused(
      valid({ headers: { "X-Ünï": "1" } }),
      "Header keys can't contain non-ASCII characters or empty spaces.",
    );
    await refused(
      valid({ headers: { "X-A": "1", "x-a": "2" } }),
      "The headers can't contain duplicate keys.",
    );
  });
});

describe("custom_args, substitutions, categories", () => {
  /** custom_args whose JSON serialisation is exactly `bytes` bytes long. */
  const argsOf = (bytes: number) => ({
    justification_id: "x".repeat(bytes - '{"justification_id":""}'.length),
  });

  it("takes custom_args of 10,000 bytes per personalization and refuses 10,001", async () => {
    expect(new TextEncoder().encode(JSON.stringify(argsOf(10_000))).length).toBe(10_000);
    expect(
      (await post(valid({ personalizations: [{ to: people(1), custom_args: argsOf(10_000) }] })))
        .res.status,
    ).toBe(202);
    server.reset();
    await refused(
      valid({ personalizations: [{ to: people(1), custom_args: argsOf(10_001) }] }),
      /custom arguments may not exceed 10000 bytes per personalization/,
    );
  });

  it("counts the message's custom_args into every personalization's", async () => {
    await refused(
      valid({
        custom_args: { message_id: "m".repeat(5000) },
        personalizations: [{ to: people(1), custom_args: { justification_id: "j".repeat(5000) } }],
      }),
      /custom arguments may not exceed 10000 bytes/,
    );
  });

  it("wants custom_args to be non-empty objects of strings", async () => {
    await refused(
      valid({ personalizations: [{ to: people(1), custom_args: { n: 1 } }] }),
      "All values of custom arguments object must be strings",
    );
    await refused(valid({ custom_args: {} }), "custom_args can't be empty.");
  });

  it("wants substitution values to be strings, 10,000 bytes at most per personalization", async () => {
    await refused(
      valid({ personalizations: [{ to: people(1), substitutions: { "-n-": 1 } }] }),
      "The substitution values must be an object of key/value pairs, where the values are all strings.",
    );
    await refused(
      valid({
        personalizations: [{ to: people(1), substitutions: { "-n-": "x".repeat(10_000) } }],
      }),
      /substitutions may not exceed 10000 bytes/,
    );
  });

  it("takes 10 unique categories of up to 255 ASCII characters", async () => {
    const ten = Array.from({ length: 10 }, (_, i) => `c${i}`);
    expect((await post(valid({ categories: ten }))).res.status).toBe(202);
    server.reset();
    await refused(valid({ categories: [...ten, "c10"] }), /^There is a limit of 10 categories/);
    await refused(
      valid({ categories: ["x".repeat(256)] }),
      /^Each category must not be longer than 255 characters/,
    );
    await refused(
      valid({ categories: ["novinky", "novinky"] }),
      /^The categories must be a unique list/,
    );
    await refused(
      valid({ categories: ["příroda"] }),
      "Categories can not contain non-ASCII characters.",
    );
  });
});

describe("send_at", () => {
  const nowSeconds = Math.floor(NOW / 1000);

  it("schedules up to 72 hours ahead, no further", async () => {
    expect((await post(valid({ send_at: nowSeconds + 72 * 3600 }))).res.status).toBe(202);
    expect((await post(valid({ send_at: nowSeconds - 60 }))).res.status).toBe(202); // past = now
    server.reset();
    await refused(
      valid({ send_at: nowSeconds + 72 * 3600 + 1 }),
      "Scheduling more than 72 hours in advance is forbidden.",
    );
    await refused(
      valid({ personalizations: [{ to: people(1), send_at: nowSeconds + 73 * 3600 }] }),
      "Scheduling more than 72 hours in advance is forbidden.",
    );
  });

  it("wants an integer Unix timestamp", async () => {
    await refused(
      valid({ send_at: "tomorrow" }),
      /^The send_at parameter is expecting a UNIX timestamp as an integer/,
    );
    await refused(
      valid({ send_at: nowSeconds + 0.5 }),
      /^The send_at parameter is expecting a UNIX timestamp/,
    );
  });
});

describe("the request itself", () => {
  it("answers every problem at once, each with its field and a help link", async () => {
    const { res, errors } = await post({ personalizations: [{ to: [{ email: "nope" }] }] });
    expect(res.status).toBe(400);
    expect(errors.map((e) => e.field)).toEqual([
      "personalizations.0.to.0.email",
      "from.email",
      "subject",
      "content",
    ]);
    for (const error of errors) {
      expect(error.help).toMatch(
        /^http:\/\/sendgrid\.com\/docs\/API_Reference\/Web_API_v3\/Mail\/errors\.html#message\./,
      );
    }
  });

  it("refuses a body that is not JSON, or not UTF-8", async () => {
    const notJson = await post(undefined, { raw: "{personalizations" });
    expect(notJson.res.status).toBe(400);
    expect(notJson.messages).toEqual(["Bad Request"]);
    const latin1 = await post(undefined, { raw: new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x7d]) });
    expect(latin1.res.status).toBe(400);
    expect(latin1.messages).toEqual(["Invalid UTF8 in request."]);
  });

  it("refuses a body over 30 MB with 413, before looking at the key", async () => {
    const padding = "x".repeat(MAX_BODY_BYTES);
    const body = valid({ content: [{ type: "text/plain", value: padding }] });
    const { res, errors } = await post(body, { key: null });
    expect(res.status).toBe(413);
    expect(errors).toEqual([{ message: "content too large", field: null, help: null }]);
    expect(server.attempts[0]?.bodyBytes).toBeGreaterThan(MAX_BODY_BYTES);
  });

  it("knows only POST /v3/mail/send", async () => {
    const auth = { authorization: `Bearer ${server.apiKey}` };
    expect((await fetch(`${server.url}/v3/mail/send`, { headers: auth })).status).toBe(405);
    expect(
      (await fetch(`${server.url}/v3/mail/batch`, { method: "POST", headers: auth })).status,
    ).toBe(404);
  });
});

describe("injected failures", () => {
  it("answers 429 with SendGrid's body and rate-limit headers, count times, then recovers", async () => {
    server.failNext(429, 2, { retryAfter: 5 });
    for (let i = 0; i < 2; i++) {
      const { res, errors } = await post(valid());
      expect(res.status).toBe(429);
      expect(errors).toEqual([{ message: "too many requests", field: null, help: null }]);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(res.headers.get("x-ratelimit-reset")).toBe(String(Math.floor(NOW / 1000) + 5));
      expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
    }
    expect((await post(valid())).res.status).toBe(202);
    expect(server.attempts.map((a) => a.status)).toEqual([429, 429, 202]);
  });

  it("fails before checking anything else, as an outage would", async () => {
    server.failNext(500, 1);
    const { res, errors } = await post({}, { key: null });
    expect(res.status).toBe(500);
    expect(errors).toEqual([{ message: "internal server error", field: null, help: null }]);
  });

  it("answers gateway errors with an HTML page", async () => {
    server.failNext(503, 1);
    const { res, text } = await post(valid());
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(text).toContain("503 Service Unavailable");
  });

  it("can drop the connection without an answer", async () => {
    server.failNext("disconnect", 1);
    await expect(post(valid())).rejects.toThrow();
    expect((await post(valid())).res.status).toBe(202);
  });

  it("queues failures in order", async () => {
    server.failNext(429, 1);
    server.failNext(502, 2);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(valid())).res.status);
    expect(statuses).toEqual([429, 502, 502, 202]);
  });
});
