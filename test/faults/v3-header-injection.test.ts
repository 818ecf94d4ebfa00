import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { justifications } from "../../src/db/schema.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * Issue 16 item 9: CR/LF in a v3 mail's `custom_args` or `categories` passed
 * through to SendGrid, which puts them in the message's X-SMTPAPI header.
 * They are refused with 400 in SendGrid's error shape, before anything is
 * decided or written.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
});

afterAll(async () => {
  await gw.stop();
});

function mail(extra: Record<string, unknown>, personalization: Record<string, unknown> = {}) {
  return {
    personalizations: [{ to: [{ email: "someone@sg.example" }], ...personalization }],
    from: { email: "news@optika.example" },
    subject: "Hello",
    content: [{ type: "text/plain", value: "Hi" }],
    custom_args: { topic: "invoices" },
    ...extra,
  };
}

async function justificationCount(): Promise<number> {
  const [row] = await gw.deps.db
    .select({ n: count() })
    .from(justifications)
    .where(eq(justifications.tenantId, tenantId));
  return row?.n ?? 0;
}

describe("CR/LF in v3 custom_args and categories", () => {
  it.each([
    [
      "a custom_args value",
      mail({ custom_args: { topic: "invoices", ref: "a\r\nBcc: x@evil.example" } }),
      "custom_args.ref",
    ],
    [
      "a custom_args key",
      mail({ custom_args: { topic: "invoices", "ref\nBcc": "a" } }),
      "custom_args.ref\nBcc",
    ],
    ["a category", mail({ categories: ["news\r\nX-Evil: 1"] }), "categories.0"],
    [
      "a personalization's custom_args",
      mail({}, { custom_args: { order: "1\n2" } }),
      "personalizations.0.custom_args.order",
    ],
  ])("refuses %s with a line break, in SendGrid's error shape", async (_what, body, field) => {
    const before = await justificationCount();
    const res = await gw.request("/v3/mail/send", { method: "POST", key, json: body });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as {
      errors: { message: string; field: string | null; help: string }[];
    };
    expect(answer.errors.map((e) => e.field)).toContain(field);
    expect(answer.errors.every((e) => e.help === "/problems/invalid-request")).toBe(true);
    expect(JSON.stringify(answer)).not.toContain("evil.example");
    expect(await justificationCount()).toBe(before);
  });

  it("still sends a mail whose custom_args and categories are clean", async () => {
    const res = await gw.request("/v3/mail/send", {
      method: "POST",
      key,
      json: mail({ categories: ["news"], custom_args: { topic: "invoices", ref: "A-1" } }),
    });
    expect(res.status).toBe(202);
  });
});
