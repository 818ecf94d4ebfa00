import { describe, expect, it } from "vitest";
import {
  assertHeaderSafe,
  complianceHeaders,
  composeMessage,
} from "../../src/domain/compliance/index.js";
import { ProblemError } from "../../src/problems.js";
import { marketingInput } from "./fixtures.js";

function problemOf(fn: () => unknown): ProblemError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error("expected a ProblemError");
}

const INJECTIONS = [
  "\r\nBcc: victim@example.com",
  "\n",
  "\r",
  "a\u0000b",
  "a\tb",
  "a\u0085b",
  "a\u2028b",
];

describe("header injection", () => {
  it.each(INJECTIONS)("is refused in the subject (%j)", (bad) => {
    const problem = problemOf(() => composeMessage(marketingInput({ subject: `Hello${bad}` })));
    expect(problem.problem).toBe("header-injection");
    expect(problem.errors).toEqual([{ pointer: "/subject", detail: expect.any(String) }]);
  });

  it("is refused in the From name and address", () => {
    const name = problemOf(() =>
      composeMessage(
        marketingInput({ from: { email: "news@kavarna.example", name: "Kavárna\r\nX-Evil: 1" } }),
      ),
    );
    expect(name.problem).toBe("header-injection");
    expect(name.errors?.[0]?.pointer).toBe("/from/name");
    const email = problemOf(() =>
      composeMessage(marketingInput({ from: { email: "news@kavarna.example\r\nBcc: x@y.z" } })),
    );
    expect(email.problem).toBe("header-injection");
    expect(email.errors?.[0]?.pointer).toBe("/from/email");
  });

  it("is refused in Reply-To", () => {
    const problem = problemOf(() =>
      composeMessage(
        marketingInput({ replyTo: { email: "help@kavarna.example", name: "Help\nBcc: x@y.z" } }),
      ),
    );
    expect(problem.problem).toBe("header-injection");
    expect(problem.errors?.[0]?.pointer).toBe("/replyTo/name");
  });

  it("is refused in recipient names, pointing at the recipient", () => {
    const problem = problemOf(() =>
      composeMessage(
        marketingInput({
          recipients: [
            { email: "a@example.cz", name: "Anna" },
            { email: "b@example.cz", name: "Bob\r\nCc: everyone@example.com" },
          ],
        }),
      ),
    );
    expect(problem.problem).toBe("header-injection");
    expect(problem.errors).toEqual([{ pointer: "/recipients/1/name", detail: expect.any(String) }]);
  });

  it("is refused in custom header values and names", () => {
    const value = problemOf(() =>
      composeMessage(marketingInput({ headers: { "X-Campaign": "autumn\r\nBcc: x@y.z" } })),
    );
    expect(value.problem).toBe("header-injection");
    expect(value.errors?.[0]?.pointer).toBe("/headers/X-Campaign");
    const name = problemOf(() =>
      composeMessage(marketingInput({ headers: { "X-Bad\r\nBcc": "1" } })),
    );
    expect(name.problem).toBe("header-injection");
    const colon = problemOf(() => assertHeaderSafe({ headers: { "X-A: b": "1" } }));
    expect(colon.problem).toBe("header-injection");
  });

  it("is refused when a data value would inject into the subject", () => {
    const problem = problemOf(() =>
      composeMessage(
        marketingInput({
          subject: "News: {{title}}",
          data: { ...marketingInput().data, title: "Hi\r\nBcc: x@y.z" },
        }),
      ),
    );
    expect(problem.problem).toBe("header-injection");
  });

  it("never echoes the offending value", () => {
    const problem = problemOf(() =>
      composeMessage(marketingInput({ subject: "secret-value\r\nBcc: x@y.z" })),
    );
    expect(JSON.stringify({ ...problem, message: problem.message })).not.toContain("secret-value");
  });

  it("refuses headers the gateway sets itself", () => {
    for (const header of [
      "List-Unsubscribe",
      "list-unsubscribe-post",
      "X-SMTPAPI",
      "From",
      "Bcc",
    ]) {
      const problem = problemOf(() =>
        composeMessage(marketingInput({ headers: { [header]: "x" } })),
      );
      expect(problem.problem).toBe("reserved-header");
    }
  });

  it("lets ordinary headers and non-ASCII names through", () => {
    expect(() =>
      assertHeaderSafe({
        subject: "Podzimní pražení ☕",
        from: { email: "news@kavarna.example", name: "Kavárna Dobrá" },
        recipients: [{ email: "a@example.cz", name: "Anežka Šťastná" }],
        headers: { "X-Campaign": "autumn-2025" },
      }),
    ).not.toThrow();
  });
});

describe("List-Unsubscribe headers (RFC 2369, RFC 8058)", () => {
  it("have the exact format", () => {
    expect(
      complianceHeaders({
        unsubscribeUrl: "https://grounds.example/u/AbC-_123",
        mailtoAddress: "unsubscribe@grounds.example",
        token: "AbC-_123",
      }),
    ).toEqual({
      "List-Unsubscribe":
        "<https://grounds.example/u/AbC-_123>, <mailto:unsubscribe@grounds.example?subject=unsubscribe%20AbC-_123>",
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    });
  });

  it("refuse values that would break the header", () => {
    expect(() =>
      complianceHeaders({
        unsubscribeUrl: "https://grounds.example/u/x\r\nBcc: a@b.c",
        mailtoAddress: "unsubscribe@grounds.example",
        token: "x",
      }),
    ).toThrow(ProblemError);
    expect(() =>
      complianceHeaders({
        unsubscribeUrl: "javascript:alert(1)",
        mailtoAddress: "unsubscribe@grounds.example",
        token: "x",
      }),
    ).toThrow(TypeError);
    expect(() =>
      complianceHeaders({
        unsubscribeUrl: "https://grounds.example/u/x",
        mailtoAddress: "not an address",
        token: "x",
      }),
    ).toThrow(TypeError);
    expect(() =>
      complianceHeaders({
        unsubscribeUrl: "https://grounds.example/u/x",
        mailtoAddress: "unsubscribe@grounds.example",
        token: "a>b",
      }),
    ).toThrow(TypeError);
  });

  it("keep angle brackets out of the URI", () => {
    const headers = complianceHeaders({
      unsubscribeUrl: "https://grounds.example/u/a>b",
      mailtoAddress: "unsubscribe@grounds.example",
      token: "ab",
    });
    expect(headers["List-Unsubscribe"]).toBe(
      "<https://grounds.example/u/a%3Eb>, <mailto:unsubscribe@grounds.example?subject=unsubscribe%20ab>",
    );
  });
});
