import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { decisionFor, evidenceOf, fixture, importFile } from "./helpers.js";

/** listmonk exports, the generic CSV and NDJSON. */
let gateway: TestGateway;
let key: string;
let tenantId: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gateway));
});

afterAll(async () => {
  await gateway.stop();
});

describe("a listmonk subscriber export", () => {
  it("maps enabled subscribers to consents and blocklisted ones to objections", async () => {
    const job = await importFile(
      gateway,
      key,
      "format=listmonk&topics=tips,deals-lenses",
      fixture("listmonk-subscribers.csv"),
    );
    expect(job).toMatchObject({ status: "done", processed: 4, imported: 3, rejectedCount: 1 });
    expect(job.rejected).toEqual([
      {
        line: 5,
        reason: "status disabled: neither a consent nor an opt-out, nothing to import",
      },
    ]);
    const anna = await decisionFor(gateway, key, "anna.mala@example.cz", "deals-lenses");
    expect(anna).toMatchObject({ decision: "send", basis: "consent" });
    // Go's time format with microseconds and a zone name.
    expect(anna.evidence[0]?.at).toBe("2025-09-01T08:15:30.123Z");
    const jiri = await decisionFor(gateway, key, "jiri.vesely@example.cz", "tips");
    expect(jiri.evidence[0]?.at).toBe("2025-11-11T20:05:00.500Z");
    const blocked = await decisionFor(gateway, key, "blokovany@example.cz", "tips");
    expect(blocked).toMatchObject({ decision: "suppress", reasons: ["objected"] });
    const [objection] = await evidenceOf(gateway, tenantId, "blokovany@example.cz");
    expect(objection).toMatchObject({ kind: "objection", topic: "*" });
    expect(objection?.occurredAt).toBe(Date.parse("2026-04-04T10:30:00Z"));
    expect(objection?.data).toMatchObject({ channel: "import", source: "listmonk" });
  });

  it("reads an export of unsubscribed members as withdrawals", async () => {
    const file = [
      "uuid,email,name,attributes,status,created_at,updated_at",
      "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d,anna.mala@example.cz,Anna Malá,{},enabled,2025-09-01 08:15:30 +0000 UTC,2026-08-08 08:08:08 +0000 UTC",
    ].join("\n");
    const job = await importFile(
      gateway,
      key,
      "format=listmonk&topics=deals-lenses&subscription=unsubscribed",
      file,
    );
    expect(job).toMatchObject({ status: "done", imported: 1 });
    const anna = await decisionFor(gateway, key, "anna.mala@example.cz", "deals-lenses");
    expect(anna).toMatchObject({ decision: "suppress", reasons: ["consent-withdrawn"] });
    // The other topic's consent stands.
    const tips = await decisionFor(gateway, key, "anna.mala@example.cz", "tips");
    expect(tips).toMatchObject({ decision: "send", basis: "consent" });
  });
});

describe("a generic CSV", () => {
  it("imports consents, customers, objections and suppressions from one file", async () => {
    const job = await importFile(gateway, key, "format=csv", fixture("generic.csv"));
    expect(job).toMatchObject({ status: "done", processed: 8, imported: 5, rejectedCount: 3 });
    expect(job.rejected).toEqual([
      { line: 7, reason: 'topics: unknown topic "neexistuje"' },
      { line: 8, reason: "collected_at: not a date or time" },
      { line: 9, reason: "last_purchase_at: before since" },
    ]);

    const klaraTips = await decisionFor(gateway, key, "klara@example.cz", "tips");
    expect(klaraTips).toMatchObject({ decision: "send", basis: "consent" });
    expect(klaraTips.evidence[0]?.at).toBe("2025-08-08T08:00:00.000Z");
    const klaraLenses = await decisionFor(gateway, key, "klara@example.cz", "deals-lenses");
    expect(klaraLenses).toMatchObject({ decision: "suppress", reasons: ["objected"] });
    const klara = await evidenceOf(gateway, tenantId, "klara@example.cz");
    const consent = klara.find((e) => e.kind === "consent-granted");
    expect(consent?.personal).toEqual({
      ip: "193.165.1.0",
      userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    });
    const objection = klara.find((e) => e.kind === "objection");
    expect(objection?.personal).toEqual({
      note: 'Wrote to the shop: "no more lens offers, thanks"',
    });

    // A customer from a purchase of similar products: the soft opt-in (eu, as SK has no rule set).
    const customer = await decisionFor(gateway, key, "zakaznik@example.cz", "tips");
    expect(customer).toMatchObject({ decision: "send", basis: "legitimate-interest" });
    const subject = await gateway.deps.db.query.subjects.findFirst({
      where: (s, { eq }) => eq(s.email, "zakaznik@example.cz"),
    });
    expect(subject?.country).toBe("SK");

    const bounced = await decisionFor(gateway, key, "odraz@example.cz", "tips");
    expect(bounced).toMatchObject({ decision: "suppress", reasons: ["hard-bounce"] });
    expect(bounced.evidence[0]?.at).toBe("2026-07-07T07:07:07.000Z");
    // A suppression without a date holds from its import on.
    const restricted = await decisionFor(gateway, key, "omezeni@example.cz", "invoices");
    expect(restricted).toMatchObject({ decision: "suppress", reasons: ["restricted"] });
  });

  it("changes nothing when imported again, even the undated suppression", async () => {
    gateway.clock.advance(60 * 60_000);
    const job = await importFile(gateway, key, "format=csv", fixture("generic.csv"));
    expect(job).toMatchObject({ status: "done", imported: 0, skipped: 5, rejectedCount: 3 });
  });

  it("refuses a row whose mapped column holds no valid value, naming the column", async () => {
    const file = [
      "Zákazník;E-mailová adresa;Poslední nákup;Zákazníkem od;Kategorie;Nabídnuto odhlášení",
      "Jan Novák;jan.novak@example.cz;2026-10-01;2023-05-05;accessories|lenses;2023-05-05",
    ].join("\r\n");
    const job = await importFile(
      gateway,
      key,
      [
        "format=csv",
        "type=customer",
        `map=${encodeURIComponent("email:E-mailová adresa")}`,
        `map=${encodeURIComponent("lastPurchaseAt:Poslední nákup")}`,
        `map=${encodeURIComponent("since:Zákazníkem od")}`,
        `map=${encodeURIComponent("categories:Kategorie")}`,
        `map=${encodeURIComponent("optOutOfferedAt:Nabídnuto odhlášení")}`,
        "map=kind:Zákazník",
      ].join("&"),
      file,
    );
    // "kind" mapped onto the name column: the row is refused, naming the column.
    expect(job.rejected).toEqual([
      { line: 2, reason: "Zákazník: must be one of purchase, inquiry" },
    ]);
  });

  it("takes the kind from the default when the file has no kind column", async () => {
    const file = [
      "E-mailová adresa;Poslední nákup;Zákazníkem od;Kategorie;Nabídnuto odhlášení;kind",
      "jan.novak@example.cz;2026-10-01;2023-05-05;accessories|lenses;2023-05-05;purchase",
    ].join("\r\n");
    const job = await importFile(
      gateway,
      key,
      [
        "format=csv",
        "type=customer",
        `map=${encodeURIComponent("email:E-mailová adresa")}`,
        `map=${encodeURIComponent("lastPurchaseAt:Poslední nákup")}`,
        `map=${encodeURIComponent("since:Zákazníkem od")}`,
        `map=${encodeURIComponent("categories:Kategorie")}`,
        `map=${encodeURIComponent("optOutOfferedAt:Nabídnuto odhlášení")}`,
      ].join("&"),
      file,
    );
    expect(job).toMatchObject({ status: "done", imported: 1, rejectedCount: 0 });
    const decision = await decisionFor(gateway, key, "jan.novak@example.cz", "deals-lenses");
    expect(decision).toMatchObject({ decision: "send", basis: "legitimate-interest" });
  });
});

describe("NDJSON", () => {
  it("reads one API evidence write a line, refusing bad lines by number", async () => {
    const job = await importFile(
      gateway,
      key,
      "format=ndjson&topics=tips",
      fixture("generic.ndjson"),
    );
    expect(job).toMatchObject({ status: "done", processed: 10, imported: 4 });
    expect(job.rejected).toEqual([
      { line: 6, reason: "collectedAt: an impossible date" },
      { line: 7, reason: "not valid JSON" },
      { line: 8, reason: "type: must be one of consent, customer, objection, suppression" },
      { line: 9, reason: "colour: not a known field" },
      { line: 10, reason: "not a JSON object" },
      { line: 11, reason: 'topics: "invoices" is a service topic, which needs no consent' },
    ]);
    const [consent, facts] = (await evidenceOf(gateway, tenantId, "nd.one@example.cz")).sort(
      (a, b) => a.kind.localeCompare(b.kind),
    );
    expect(consent).toMatchObject({ kind: "consent-granted", topic: "tips" });
    expect(consent?.data).toMatchObject({
      method: "import",
      originalMethod: "web-form",
      wordingVersion: "tips-2025-11",
      source: "ndjson",
    });
    expect(consent?.data.wordingSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(consent?.personal).toEqual({
      ip: "2a00:1028:8d00::",
      sourceUrl: "https://optika.example/newsletter",
    });
    expect(facts).toMatchObject({ kind: "subject-facts" });
    const two = await decisionFor(gateway, key, "nd.two@example.cz", "tips");
    expect(two).toMatchObject({ decision: "suppress", reasons: ["objected"] });
    const three = await decisionFor(gateway, key, "nd.three@example.cz", "tips");
    expect(three).toMatchObject({ decision: "suppress", reasons: ["spam-complaint"] });
  });
});
