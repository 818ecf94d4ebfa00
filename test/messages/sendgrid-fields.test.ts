import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * docs/sendgrid-drop-in.md's table against SendGrid's v3 Mail Send schema:
 * every field the schema documents (the fixture, written from
 * twilio/sendgrid-oai `tsg_mail_v3.yaml`) has a row that says it is
 * honoured or refused, and the table names no field the schema does not
 * have. A field SendGrid adds fails here until it is decided.
 */

const schema = JSON.parse(
  readFileSync(new URL("../fixtures/sendgrid-mail-send-fields.json", import.meta.url), "utf8"),
) as { fields: string[] };
const doc = readFileSync(new URL("../../docs/sendgrid-drop-in.md", import.meta.url), "utf8");
const section = doc.slice(
  doc.indexOf("## Every field"),
  doc.indexOf("## SendGrid's unsubscribe tags"),
);
const rows = new Map(
  [...section.matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]),
);

describe("the drop-in's field table", () => {
  it.each(schema.fields)("%s is honoured or refused", (field) => {
    const outcome = rows.get(field);
    expect(outcome, `no row for ${field}`).toBeDefined();
    expect(outcome).toMatch(/^(honoured|refused)\b/);
  });

  it("names only fields of the schema", () => {
    expect([...rows.keys()].filter((field) => !schema.fields.includes(field))).toEqual([]);
  });
});
