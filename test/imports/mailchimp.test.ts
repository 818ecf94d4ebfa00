import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import {
  countEvidence,
  decisionFor,
  evidenceOf,
  fixture,
  type ImportBody,
  importFile,
} from "./helpers.js";

/**
 * The acceptance test of issue #8: an audience exported from Mailchimp
 * (its three files) imports into Grounds, and the decisions for those
 * addresses then rest on the imported evidence with its original dates.
 */
let gateway: TestGateway;
let key: string;
let tenantId: string;
let subscribed: ImportBody;

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gateway));
  subscribed = await importFile(
    gateway,
    key,
    "format=mailchimp&topics=tips",
    fixture("mailchimp-subscribed.csv"),
  );
});

afterAll(async () => {
  await gateway.stop();
});

describe("a Mailchimp audience export", () => {
  it("imports the subscribed members and reports each refused row by its line", () => {
    expect(subscribed.status).toBe("done");
    expect(subscribed.format).toBe("mailchimp");
    expect(subscribed.topics).toEqual(["tips"]);
    expect(subscribed.processed).toBe(8);
    // Jana, Petr, Marek; Jana again in other case is the same consent.
    expect(subscribed.imported).toBe(3);
    expect(subscribed.skipped).toBe(1);
    expect(subscribed.rejectedCount).toBe(4);
    expect(subscribed.rejected).toEqual([
      { line: 7, reason: "Email Address: not a valid e-mail address" },
      { line: 8, reason: "OPTIN_TIME: an impossible date" },
      { line: 9, reason: "OPTIN_TIME: lies in the future" },
      {
        line: 10,
        reason: "no OPTIN_TIME or CONFIRM_TIME: a consent without a date is no evidence",
      },
    ]);
    expect(subscribed.progress).toBe(1);
  });

  it("decides on the imported consent, dated at its original OPTIN_TIME", async () => {
    const decision = await decisionFor(gateway, key, "jana.novakova@seznam.example", "tips");
    expect(decision).toMatchObject({ decision: "send", basis: "consent", reasons: [] });
    expect(decision.evidence).toHaveLength(1);
    expect(decision.evidence[0]).toMatchObject({
      kind: "consent-granted",
      at: "2025-06-14T09:26:53.000Z",
    });
    const [consent] = await evidenceOf(gateway, tenantId, "jana.novakova@seznam.example");
    expect(consent?.id).toBe(decision.evidence[0]?.id);
    expect(consent?.data).toMatchObject({
      method: "import",
      source: "mailchimp",
      confirmedAt: Date.parse("2025-06-14T09:31:02Z"),
    });
    // IPs are kept anonymised (docs/design.md §2).
    expect(consent?.personal).toEqual({ ip: "89.102.17.0", confirmIp: "89.102.17.0" });
  });

  it("matches addresses without regard to case, keeping the address first given", async () => {
    const rows = await evidenceOf(gateway, tenantId, "JANA.novakova@SEZNAM.example");
    expect(rows).toHaveLength(1);
    const subject = await gateway.deps.db.query.subjects.findFirst({
      where: (s, { eq }) => eq(s.subjectKey, rows[0]?.subjectKey ?? ""),
    });
    expect(subject?.email).toBe("jana.novakova@seznam.example");
  });

  it("reads a member added without a form: CONFIRM_TIME dates the consent, not a confirmation", async () => {
    const [consent] = await evidenceOf(gateway, tenantId, "petr.svoboda@example.cz");
    expect(consent).toMatchObject({ kind: "consent-granted", topic: "tips" });
    expect(consent?.occurredAt).toBe(Date.parse("2025-09-02T14:00:10Z"));
    expect(consent?.data).toMatchObject({ confirmedAt: null });
    expect(consent?.personal).toBeNull();
    const decision = await decisionFor(gateway, key, "Petr.Svoboda@example.cz", "tips");
    expect(decision).toMatchObject({ decision: "send", basis: "consent" });
  });

  it("keeps IPv6 addresses anonymised to their /48, from a row with a quoted multi-line note", async () => {
    const [consent] = await evidenceOf(gateway, tenantId, "marek.dvorak@firma.example");
    expect(consent?.personal).toEqual({ ip: "2001:db8:85a3::", confirmIp: "2001:db8:85a3::" });
    // Notes and names are not evidence and are not kept.
    expect(JSON.stringify(consent)).not.toContain("Brno");
  });

  it("turns the unsubscribed export into withdrawals, and abuse reports into spam complaints", async () => {
    const job = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      fixture("mailchimp-unsubscribed.csv"),
    );
    expect(job).toMatchObject({ status: "done", processed: 2, imported: 2, rejectedCount: 0 });

    const tomas = await decisionFor(gateway, key, "tomas.cerny@example.cz", "tips");
    expect(tomas).toMatchObject({ decision: "suppress", reasons: ["consent-withdrawn"] });
    expect(tomas.evidence).toEqual([
      expect.objectContaining({ kind: "consent-withdrawn", at: "2026-02-10T07:59:30.000Z" }),
    ]);
    // The consent history is kept too: granted, then withdrawn.
    const history = await evidenceOf(gateway, tenantId, "tomas.cerny@example.cz");
    expect(history.map((e) => e.kind).sort()).toEqual(["consent-granted", "consent-withdrawn"]);

    const eva = await decisionFor(gateway, key, "eva.prochazkova@example.cz", "tips");
    expect(eva).toMatchObject({ decision: "suppress", reasons: ["spam-complaint"] });
    // A spam complaint is an objection to all marketing, not to one topic.
    const other = await decisionFor(gateway, key, "eva.prochazkova@example.cz", "deals-lenses");
    expect(other).toMatchObject({ decision: "suppress", reasons: ["spam-complaint"] });
  });

  it("turns the cleaned export into hard bounces", async () => {
    const job = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      fixture("mailchimp-cleaned.csv"),
    );
    expect(job).toMatchObject({ status: "done", processed: 1, imported: 1, rejectedCount: 0 });
    const decision = await decisionFor(gateway, key, "stara.schranka@zaniklo.example", "invoices");
    // A hard bounce blocks every class of message (docs/design.md §3 rule 1).
    expect(decision).toMatchObject({ decision: "suppress", reasons: ["hard-bounce"] });
    expect(decision.evidence[0]).toMatchObject({ at: "2026-06-01T03:12:45.000Z" });
  });

  it("changes nothing when the same files are imported again", async () => {
    const before = await countEvidence(gateway);
    const subjectsBefore = await gateway.deps.db.query.subjects.findMany();
    const again = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      fixture("mailchimp-subscribed.csv"),
    );
    expect(again).toMatchObject({ status: "done", processed: 8, imported: 0, skipped: 4 });
    expect(again.rejectedCount).toBe(4);
    const unsubscribed = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      fixture("mailchimp-unsubscribed.csv"),
    );
    expect(unsubscribed).toMatchObject({ imported: 0, skipped: 2 });
    expect(await countEvidence(gateway)).toBe(before);
    expect(await gateway.deps.db.query.subjects.findMany()).toEqual(subjectsBefore);
  });

  it("names the file's problem when it is not a Mailchimp export", async () => {
    const job = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      "Adresa,Jméno\nanna@example.cz,Anna\n",
    );
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/no "Email Address" column/);
  });
});
