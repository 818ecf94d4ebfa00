import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentData, seedEvidence } from "../messages/seed.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { countEvidence, decisionFor, evidenceOf, fixture, importFile } from "./helpers.js";

/**
 * `POST /v1/imports?format=sendgrid&list=…`: a SendGrid account's suppression
 * exports (fixtures in SendGrid's columns: `email,created` for global
 * unsubscribes, with `group_id` for group unsubscribes, `reason,status` for
 * bounces and blocks, `ip` for spam reports) become the evidence they stand
 * for, at their own time, and a re-run changes nothing.
 */

let gateway: TestGateway;
let key: string;
let tenantId: string;

const PEOPLE = [
  "global.one",
  "global.two",
  "group.one",
  "group.two",
  "bounce.one",
  "block.one",
  "spam.one",
  "invalid.one",
].map((name) => `${name}@sg-export.example`);

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gateway));
  const settings = await gateway.request("/v1/settings", {
    method: "PATCH",
    key,
    json: { sendgrid: { asmGroups: { "42": "tips" } } },
  });
  expect(settings.status).toBe(200);
  // Everyone consented before SendGrid's lists say they stopped.
  await seedEvidence(
    gateway,
    tenantId,
    PEOPLE.flatMap((email) =>
      ["tips", "deals-lenses"].map((topic) => ({
        email,
        kind: "consent-granted" as const,
        topic,
        at: Date.parse("2025-12-01T00:00:00Z"),
        data: consentData,
      })),
    ),
  );
});

afterAll(async () => {
  await gateway.stop();
});

const file = (name: string) => fixture(`sendgrid/${name}.csv`);

describe("SendGrid suppression exports", () => {
  it("each list becomes the evidence it stands for, dated as SendGrid dated it", async () => {
    const global = await importFile(
      gateway,
      key,
      "format=sendgrid&list=global-unsubscribes",
      file("global_unsubscribes"),
    );
    expect(global).toMatchObject({ status: "done", processed: 3, imported: 2 });
    expect(global.rejected).toEqual([{ line: 4, reason: "email: not a valid e-mail address" }]);
    const group = await importFile(
      gateway,
      key,
      "format=sendgrid&list=group-unsubscribes",
      file("group_unsubscribes"),
    );
    expect(group).toMatchObject({ status: "done", imported: 1 });
    expect(group.rejected[0]?.reason).toMatch(/^group_id 77: not mapped to a topic/);
    for (const [list, name] of [
      ["bounces", "bounces"],
      ["spam-reports", "spam_reports"],
      ["invalid-emails", "invalid_emails"],
    ] as const) {
      const job = await importFile(gateway, key, `format=sendgrid&list=${list}`, file(name));
      expect(job).toMatchObject({ status: "done", imported: 1, rejected: [] });
    }
    const blocks = await importFile(gateway, key, "format=sendgrid&list=blocks", file("blocks"));
    expect(blocks).toMatchObject({ status: "done", imported: 0 });
    expect(blocks.rejected[0]?.reason).toMatch(/temporary refusal/);

    const reasons = async (email: string, topic: string) =>
      (await decisionFor(gateway, key, email, topic)).reasons;
    expect(await reasons("global.one@sg-export.example", "deals-lenses")).toEqual(["objected"]);
    expect(await reasons("global.two@sg-export.example", "tips")).toEqual(["objected"]);
    // Group 42 is `tips`: only that topic stops.
    expect(await reasons("group.one@sg-export.example", "tips")).toEqual(["objected"]);
    expect(
      (await decisionFor(gateway, key, "group.one@sg-export.example", "deals-lenses")).decision,
    ).toBe("send");
    expect((await decisionFor(gateway, key, "group.two@sg-export.example", "tips")).decision).toBe(
      "send",
    );
    expect(await reasons("bounce.one@sg-export.example", "invoices")).toEqual(["hard-bounce"]);
    expect(await reasons("invalid.one@sg-export.example", "invoices")).toEqual(["hard-bounce"]);
    expect(await reasons("spam.one@sg-export.example", "tips")).toEqual(["spam-complaint"]);
    expect((await decisionFor(gateway, key, "block.one@sg-export.example", "tips")).decision).toBe(
      "send",
    );

    // The original time: Unix seconds from the API, a date and time from the UI.
    const [objection] = (
      await evidenceOf(gateway, tenantId, "global.two@sg-export.example")
    ).filter((e) => e.kind === "objection");
    expect(objection?.occurredAt).toBe(1767225600 * 1000);
    const [fromUi] = (await evidenceOf(gateway, tenantId, "global.one@sg-export.example")).filter(
      (e) => e.kind === "objection",
    );
    expect(fromUi?.occurredAt).toBe(Date.parse("2026-03-01T10:00:00Z"));
  });

  it("a re-run changes nothing", async () => {
    const before = await countEvidence(gateway);
    const again = await importFile(
      gateway,
      key,
      "format=sendgrid&list=global-unsubscribes",
      file("global_unsubscribes"),
    );
    expect(again).toMatchObject({ status: "done", imported: 0, skipped: 2 });
    expect(await countEvidence(gateway)).toBe(before);
  });

  it("needs the list, and only for sendgrid", async () => {
    const missing = await gateway.request("/v1/imports?format=sendgrid", {
      method: "POST",
      key,
      body: "email\n",
    });
    expect(missing.status).toBe(400);
    const elsewhere = await gateway.request("/v1/imports?format=csv&list=bounces", {
      method: "POST",
      key,
      body: "email\n",
    });
    expect(elsewhere.status).toBe(400);
  });
});
