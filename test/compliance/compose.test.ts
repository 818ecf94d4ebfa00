import { describe, expect, it } from "vitest";
import {
  applySubstitutions,
  type ComposedMessage,
  composeMessage,
  listTemplates,
  type RecipientSubstitutionInput,
  recipientSubstitutions,
  substitutionKey,
} from "../../src/domain/compliance/index.js";
import type { Basis } from "../../src/domain/vocabulary.js";
import { ProblemError } from "../../src/problems.js";
import {
  identity,
  marketingInput,
  newsletterData,
  newsletterTopic,
  orderTopic,
  urls,
} from "./fixtures.js";

function problemOf(fn: () => unknown): ProblemError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error("expected a ProblemError");
}

/** The message as one recipient gets it (what SendGrid or the outbox does). */
function deliver(
  message: ComposedMessage,
  input: Partial<RecipientSubstitutionInput> & { basis: Basis | null },
) {
  const substitutions = recipientSubstitutions({
    message,
    topic: message.kind === "service" ? orderTopic : newsletterTopic,
    recipient: {},
    ...(message.kind === "marketing" ? urls : {}),
    ...input,
  });
  return {
    subject: applySubstitutions(message.subject, substitutions),
    html: message.html === null ? null : applySubstitutions(message.html, substitutions),
    text: applySubstitutions(message.text, substitutions),
    substitutions,
  };
}

const consentAt = Date.UTC(2025, 2, 14, 10, 0);

describe("refusing what cannot be made compliant", () => {
  it("refuses a From domain that is not verified", () => {
    const problem = problemOf(() =>
      composeMessage(marketingInput({ from: { email: "news@elsewhere.example" } })),
    );
    expect(problem.problem).toBe("unverified-sender-domain");
    expect(problem.status).toBe(422);
  });

  it("refuses a subdomain of a verified domain unless it is listed", () => {
    const from = { email: "news@mail.kavarna.example" };
    expect(problemOf(() => composeMessage(marketingInput({ from }))).problem).toBe(
      "unverified-sender-domain",
    );
    expect(() =>
      composeMessage(
        marketingInput({ from, domains: ["kavarna.example", "mail.kavarna.example"] }),
      ),
    ).not.toThrow();
  });

  it("refuses a look-alike parent domain", () => {
    const problem = problemOf(() =>
      composeMessage(marketingInput({ from: { email: "news@kavarna.example.evil.test" } })),
    );
    expect(problem.problem).toBe("unverified-sender-domain");
  });

  it("matches domains case-insensitively and in either IDN form", () => {
    expect(() =>
      composeMessage(marketingInput({ from: { email: "News@KAVARNA.Example" } })),
    ).not.toThrow();
    expect(() =>
      composeMessage(
        marketingInput({
          from: { email: "news@xn--kavrna-rta.example" },
          domains: ["kavárna.example"],
        }),
      ),
    ).not.toThrow();
  });

  it("refuses a From address that is not an address", () => {
    expect(
      problemOf(() => composeMessage(marketingInput({ from: { email: "news" } }))).problem,
    ).toBe("invalid-request");
  });

  it.each(["legalName", "address", "registrationId"] as const)("refuses an empty %s", (field) => {
    const problem = problemOf(() =>
      composeMessage(marketingInput({ identity: { ...identity, [field]: "  " } })),
    );
    expect(problem.problem).toBe("sender-identity-missing");
    expect(problem.errors?.map((e) => e.pointer)).toEqual([`/${field}`]);
  });

  it("refuses an unknown template", () => {
    expect(problemOf(() => composeMessage(marketingInput({ template: "nope" }))).problem).toBe(
      "unknown-template",
    );
    expect(
      problemOf(() => composeMessage(marketingInput({ template: "constructor" }))).problem,
    ).toBe("unknown-template");
  });

  it("refuses a message without content or subject", () => {
    expect(
      problemOf(() => composeMessage(marketingInput({ template: undefined, data: undefined })))
        .problem,
    ).toBe("message-content-missing");
    expect(
      problemOf(() => composeMessage(marketingInput({ template: undefined, html: "  ", text: "" })))
        .problem,
    ).toBe("message-content-missing");
    expect(problemOf(() => composeMessage(marketingInput({ subject: " " }))).problem).toBe(
      "message-content-missing",
    );
  });

  it("refuses a template together with html", () => {
    expect(problemOf(() => composeMessage(marketingInput({ html: "<p>x</p>" }))).problem).toBe(
      "invalid-request",
    );
  });

  it("refuses a marketing template for a service topic, and the reverse", () => {
    expect(problemOf(() => composeMessage(marketingInput({ topic: orderTopic }))).problem).toBe(
      "template-topic-mismatch",
    );
    expect(
      problemOf(() =>
        composeMessage(marketingInput({ template: "service", data: { title: "t", body: "b" } })),
      ).problem,
    ).toBe("template-topic-mismatch");
  });

  it("refuses missing template data, pointing at each value", () => {
    const problem = problemOf(() =>
      composeMessage(
        marketingInput({
          data: { title: "T", items: [{ title: "A", url: "https://a.example" }, "oops"] },
        }),
      ),
    );
    expect(problem.problem).toBe("invalid-template-data");
    expect(problem.errors?.map((e) => e.pointer)).toEqual(
      expect.arrayContaining(["/data/intro", "/data/items/0/summary", "/data/items/1"]),
    );
  });

  it("refuses a link that is not http(s) or mailto", () => {
    const problem = problemOf(() =>
      composeMessage(
        marketingInput({ data: { ...newsletterData, cta_url: "javascript:alert(1)" } }),
      ),
    );
    expect(problem.problem).toBe("invalid-template-data");
    expect(problem.errors?.map((e) => e.pointer)).toContain("/data/cta_url");
  });

  it("refuses the marketing footer's values in a service message", () => {
    const problem = problemOf(() =>
      composeMessage(
        marketingInput({
          topic: orderTopic,
          template: undefined,
          html: '<p>Order shipped. <a href="{{grounds.unsubscribe_url}}">stop</a></p>',
        }),
      ),
    );
    expect(problem.problem).toBe("invalid-template-data");
  });
});

describe("marketing messages", () => {
  const message = composeMessage(marketingInput());

  it("are composed once, with per-recipient keys instead of values", () => {
    expect(message.kind).toBe("marketing");
    for (const part of [message.html ?? "", message.text]) {
      expect(part).not.toContain("{{");
    }
    expect(message.html).toContain(substitutionKey("unsubscribe_url", "html"));
    expect(message.html).toContain(substitutionKey("why", "html"));
    expect(message.text).toContain(substitutionKey("unsubscribe_url", "text"));
    expect(message.text).not.toContain(":html%%");
    expect(message.html).not.toContain(":text%%");
  });

  it("carry the commercial notice, the identity, the objection and the links", () => {
    const mail = deliver(message, { basis: "consent", consentGivenAt: consentAt });
    for (const part of [mail.html ?? "", mail.text]) {
      expect(part).toContain(
        "This is a commercial communication (advertisement) sent on behalf of",
      );
      expect(part).toContain("Kavárna Dobrá s.r.o.");
      expect(part).toContain("Náměstí Míru 1, 120 00 Praha 2, Czech Republic");
      expect(part).toContain("registration no. 12345678");
      expect(part).toContain("You may object to direct marketing at any time, free of charge");
      expect(part).toContain("privacy@kavarna.example");
      expect(part).toContain(urls.unsubscribeUrl);
      expect(part).toContain("Unsubscribe from Coffee News");
      expect(part).toContain("Manage your e-mail preferences");
      expect(part).not.toContain("%%grounds:");
    }
    expect(mail.html).toContain(`href="${urls.unsubscribeUrl}"`);
    expect(mail.html).toContain(`href="${urls.preferencesUrl}"`);
  });

  it("state the right to object apart from other text (GDPR Art. 21(4))", () => {
    const mail = deliver(message, { basis: "legitimate-interest" });
    const line = mail.text.split("\n").find((l) => l.includes("You may object"));
    expect(line).toBe(
      "You may object to direct marketing at any time, free of charge: use the unsubscribe link below, or write to privacy@kavarna.example.",
    );
    expect(mail.html).toMatch(/font-weight:bold[^>]*>You may object to direct marketing/);
  });

  it("render the template's data, items and call to action", () => {
    const mail = deliver(message, { basis: "consent" });
    expect(mail.html).toContain("Autumn roasts");
    expect(mail.html).toContain('href="https://kavarna.example/guji"');
    expect(mail.html).toContain("Brazil Cerrado");
    expect(mail.html).toContain("Chocolate &amp; nuts.");
    expect(mail.text).toContain("Chocolate & nuts.");
    expect(mail.text).toContain("Visit the shop [https://kavarna.example/shop]");
  });

  it("leave out an optional part whose value is missing", () => {
    const { cta_url: _url, cta_label: _label, ...data } = newsletterData;
    const mail = deliver(composeMessage(marketingInput({ data })), { basis: "consent" });
    expect(mail.text).not.toContain("Visit the shop");
    expect(mail.text).toContain("Ethiopia Guji");
  });
});

describe("the why sentence follows the basis", () => {
  const message = composeMessage(marketingInput());
  const why = (basis: Basis, extra: Partial<RecipientSubstitutionInput> = {}) =>
    recipientSubstitutions({
      message,
      basis,
      topic: newsletterTopic,
      ...urls,
      recipient: {},
      ...extra,
    })[substitutionKey("why", "text")];

  it("consent: the topic and the date", () => {
    expect(why("consent", { consentGivenAt: consentAt })).toBe(
      "You receive this because you subscribed to Coffee News on 14 March 2025.",
    );
    expect(why("consent")).toBe("You receive this because you subscribed to Coffee News.");
  });

  it("legitimate interest: a customer, similar products", () => {
    expect(why("legitimate-interest")).toBe(
      "You receive this because you are our customer and it concerns products similar to those you bought from us.",
    );
  });

  it("opt-out regime, corporate subscriber, implied consent", () => {
    expect(why("opt-out-regime")).toBe(
      "You receive this because your address is on our mailing list for Coffee News and you have not asked us to stop.",
    );
    expect(why("corporate-subscriber")).toBe(
      "You receive this at your business address because it concerns products and services for your organisation.",
    );
    expect(why("implied-consent")).toBe(
      "You receive this because you recently bought from us or asked us about our products.",
    );
  });

  it("in Czech for a Czech recipient", () => {
    expect(why("consent", { consentGivenAt: consentAt, locale: "cs-CZ" })).toBe(
      "Tento e-mail dostáváte, protože jste se 14. března 2025 přihlásili k odběru: Coffee News.",
    );
    expect(why("legitimate-interest", { locale: "cs" })).toContain("jste naším zákazníkem");
    expect(why("consent", { locale: "xx" })).toContain("You receive this");
  });

  it("escapes the tenant's topic name in the HTML variant", () => {
    const values = recipientSubstitutions({
      message,
      basis: "consent",
      topic: { ...newsletterTopic, name: "Tips & <Tricks>" },
      ...urls,
      recipient: {},
    });
    expect(values[substitutionKey("why", "html")]).toBe(
      "You receive this because you subscribed to Tips &amp; &lt;Tricks&gt;.",
    );
    expect(values[substitutionKey("why", "text")]).toBe(
      "You receive this because you subscribed to Tips & <Tricks>.",
    );
  });

  it("a marketing message refuses a service basis, and needs its links", () => {
    expect(() => why("contract")).toThrow(TypeError);
    expect(() =>
      recipientSubstitutions({
        message,
        basis: "consent",
        topic: newsletterTopic,
        recipient: {},
      }),
    ).toThrow(TypeError);
  });
});

describe("what travels per recipient", () => {
  it("only what differs per recipient: the why sentence, the unsubscribe link and the recipient's own fields", () => {
    const message = composeMessage(
      marketingInput({ template: undefined, html: "<p>Hello {{recipient.name}}</p>" }),
    );
    const { substitutions, html, text } = deliver(message, {
      basis: "consent",
      recipient: { name: "Jana" },
    });
    expect(Object.keys(substitutions).sort()).toEqual(
      [
        substitutionKey("recipient.name", "html"),
        substitutionKey("recipient.name", "text"),
        substitutionKey("unsubscribe_url", "html"),
        substitutionKey("unsubscribe_url", "text"),
        substitutionKey("why", "html"),
        substitutionKey("why", "text"),
      ].sort(),
    );
    // The same for every recipient, so written into the content once.
    for (const part of [message.text, message.html ?? ""]) {
      expect(part).toContain("Kavárna");
      expect(part).toContain("You may object to direct marketing at any time");
      expect(part).toContain("Manage your e-mail preferences");
    }
    // The preference link is the recipient's own unsubscribe link's page.
    expect(html).toContain(`href="${urls.unsubscribeUrl}#preferences"`);
    expect(text).toContain(`${urls.unsubscribeUrl}#preferences`);
  });
});

describe("service messages", () => {
  const message = composeMessage(
    marketingInput({
      topic: orderTopic,
      template: "service",
      subject: "Your order has shipped",
      data: { title: "Shipped", body: "Your order 1234 is on its way.\nTrack it below." },
    }),
  );

  it("carry the sender identity and no unsubscribe or objection", () => {
    expect(message.kind).toBe("service");
    const mail = deliver(message, { basis: "contract" });
    for (const part of [mail.html ?? "", mail.text]) {
      expect(part).toContain("This message is sent by Kavárna Dobrá s.r.o.");
      expect(part).toContain("registration no. 12345678");
      expect(part).toContain("it concerns your order or contract with us");
      expect(part).not.toContain("commercial communication");
      expect(part).not.toContain("object");
      expect(part).not.toContain("Unsubscribe");
      expect(part).not.toContain("%%grounds:");
    }
    expect(Object.keys(mail.substitutions).some((k) => k.includes("unsubscribe"))).toBe(false);
    expect(mail.html).toContain("Your order 1234 is on its way.<br>");
  });

  it("say why on a legal obligation", () => {
    const mail = deliver(message, { basis: "legal-obligation" });
    expect(mail.text).toContain("the law requires us to inform you");
  });

  it("get the service footer on caller content too", () => {
    const composed = composeMessage(
      marketingInput({ topic: orderTopic, template: undefined, text: "Your invoice is attached." }),
    );
    const mail = deliver(composed, { basis: "contract" });
    expect(mail.html).toBeNull();
    expect(mail.text).toContain("Your invoice is attached.");
    expect(mail.text).toContain("This message is sent by Kavárna Dobrá s.r.o.");
    expect(mail.text).not.toContain("object");
  });
});

describe("the double opt-in confirmation", () => {
  it("asks to confirm the topic, with the link, and advertises nothing", () => {
    const message = composeMessage(
      marketingInput({
        template: "confirm",
        subject: "Please confirm your subscription",
        data: { confirm_url: "https://grounds.example/c/abc?x=1&y=2" },
      }),
    );
    expect(message.kind).toBe("confirmation");
    const mail = deliver(message, { basis: null });
    expect(mail.html).toContain("Confirm your subscription to Coffee News");
    expect(mail.html).toContain('href="https://grounds.example/c/abc?x=1&amp;y=2"');
    expect(mail.text).toContain("https://grounds.example/c/abc?x=1&y=2");
    expect(mail.text).toContain("from Kavárna Dobrá s.r.o.");
    expect(mail.text).toContain("this address was entered to subscribe to Coffee News");
    expect(mail.text).toContain("This message is sent by Kavárna Dobrá s.r.o.");
    expect(mail.text).not.toContain("commercial communication");
    expect(mail.text).not.toContain("Unsubscribe");
  });
});

describe("escaping", () => {
  it("escapes a <script> in data in the HTML, and keeps it plain in the text", () => {
    const message = composeMessage(
      marketingInput({ data: { ...newsletterData, intro: '<script>alert("x")</script> & more' } }),
    );
    expect(message.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more");
    expect(message.html).not.toContain("<script>");
    expect(message.text).toContain('<script>alert("x")</script> & more');
  });

  it("escapes recipient values in the HTML, not in the text", () => {
    const message = composeMessage(
      marketingInput({
        template: undefined,
        html: "<p>Hello {{recipient.name}}, your code is {{recipient.code}}.</p>",
      }),
    );
    expect(message.recipientFields).toEqual(["name", "code"]);
    const mail = deliver(message, {
      basis: "consent",
      recipient: { name: "<b>Anna</b>", data: { code: "A&B" } },
    });
    expect(mail.html).toContain("Hello &lt;b&gt;Anna&lt;/b&gt;, your code is A&amp;B.");
    expect(mail.text).toContain("Hello <b>Anna</b>, your code is A&B.");
  });

  it("gives every used recipient field a value, empty when missing", () => {
    const message = composeMessage(
      marketingInput({ template: undefined, text: "Hi {{recipient.first_name}}!" }),
    );
    const mail = deliver(message, { basis: "consent" });
    expect(mail.text.startsWith("Hi !")).toBe(true);
  });

  it("refuses a recipient value with a line break in the subject", () => {
    const message = composeMessage(marketingInput({ subject: "For {{recipient.name}}" }));
    expect(message.subject).toBe(`For ${substitutionKey("recipient.name", "text")}`);
    expect(message.subjectRecipientFields).toEqual(["name"]);
    expect(deliver(message, { basis: "consent", recipient: { name: "Anna" } }).subject).toBe(
      "For Anna",
    );
    expect(() =>
      deliver(message, { basis: "consent", recipient: { name: "A\r\nBcc: x" } }),
    ).toThrow(ProblemError);
  });

  it("does not reach Object.prototype through a placeholder", () => {
    const message = composeMessage(
      marketingInput({ template: undefined, text: "{{constructor}} {{toString}}" }),
    );
    expect(message.text).toContain("{{constructor}} {{toString}}");
  });
});

describe("caller content", () => {
  it("gets the footer inside </body>", () => {
    const message = composeMessage(
      marketingInput({
        template: undefined,
        html: "<html><body><h1>Sale</h1><p>All beans -20 %.</p></body></html>",
      }),
    );
    const html = message.html ?? "";
    const footerAt = html.indexOf(substitutionKey("unsubscribe_url", "html"));
    expect(footerAt).toBeGreaterThan(html.indexOf("All beans"));
    expect(footerAt).toBeLessThan(html.indexOf("</body>"));
    expect(html.endsWith("</body></html>")).toBe(true);
  });

  it("gets the footer at the end when there is no </body>", () => {
    const message = composeMessage(
      marketingInput({ template: undefined, html: "<p>All beans -20 %.</p>" }),
    );
    expect(message.html?.startsWith("<p>All beans -20 %.</p>")).toBe(true);
    expect(message.html).toContain("You may object to direct marketing at any time");
  });

  it("always has a plain-text part, derived from the HTML when none is given", () => {
    const message = composeMessage(
      marketingInput({
        template: undefined,
        html: '<html><head><style>p{color:red}</style></head><body><h1>Sale</h1><p>All beans &amp; mugs <a href="https://kavarna.example/sale">in the shop</a>.</p></body></html>',
      }),
    );
    const mail = deliver(message, { basis: "consent" });
    expect(mail.text).toContain("Sale");
    expect(mail.text).toContain("All beans & mugs in the shop [https://kavarna.example/sale].");
    expect(mail.text).not.toContain("color:red");
    expect(mail.text).toContain(`Unsubscribe from Coffee News [${urls.unsubscribeUrl}]`);
    expect(mail.text).toContain("You may object to direct marketing at any time, free of charge");
  });

  it("keeps both parts when both are given, each with its footer", () => {
    const message = composeMessage(
      marketingInput({ template: undefined, html: "<p>HTML body</p>", text: "Text body" }),
    );
    expect(message.html).toContain("HTML body");
    expect(message.text.startsWith("Text body\n\n")).toBe(true);
    expect(message.text).toContain(substitutionKey("unsubscribe_url", "text"));
  });

  it("fills known data and leaves other braces as written", () => {
    const message = composeMessage(
      marketingInput({
        template: undefined,
        data: { code: "AUTUMN" },
        text: "Use {{code}} at checkout. {{unknown}} stays.",
      }),
    );
    expect(message.text).toContain("Use AUTUMN at checkout. {{unknown}} stays.");
  });
});

describe("applySubstitutions", () => {
  it("replaces every occurrence, longer keys first, in one pass", () => {
    expect(
      applySubstitutions("-a- -ab- -a- %x%", {
        "-a-": "1",
        "-ab-": "2",
        "%x%": "-a-",
        "": "never",
      }),
    ).toBe("1 2 1 -a-");
  });

  it("takes values literally, $ patterns included", () => {
    expect(applySubstitutions("K", { K: "$& $1 $$" })).toBe("$& $1 $$");
  });

  it("leaves unknown keys and empty substitutions alone", () => {
    expect(applySubstitutions("%%grounds:why:text%%", {})).toBe("%%grounds:why:text%%");
  });
});

describe("templates", () => {
  it("lists the templates and the data they need", () => {
    const templates = listTemplates();
    expect(templates.map((t) => t.name).sort()).toEqual([
      "confirm",
      "confirm-cs",
      "newsletter",
      "service",
    ]);
    const newsletter = templates.find((t) => t.name === "newsletter");
    expect(newsletter?.class).toBe("marketing");
    expect(newsletter?.placeholders.map((p) => p.name)).toEqual(
      expect.arrayContaining(["title", "intro", "items", "url", "summary", "cta_url", "cta_label"]),
    );
    expect(newsletter?.placeholders.some((p) => p.name.startsWith("grounds."))).toBe(false);
  });
});
