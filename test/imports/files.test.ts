import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { decisionFor, evidenceOf, importFile } from "./helpers.js";

/**
 * Files as they come from real tools: a BOM, Windows line endings, quoted
 * commas, quotes and line breaks, text in another encoding, broken quoting,
 * rows cut short, and one person under two spellings of the address.
 */
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

const HEADER = '"Email Address","First Name","Last Name",OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,NOTES';
const utf8 = (text: string) => new TextEncoder().encode(text);
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(
    parts.map((part) => (typeof part === "string" ? utf8(part) : Uint8Array.from(part))),
  );

/** A body sent a few bytes at a time: multi-byte characters and CRLF split across reads. */
function trickle(data: Uint8Array, size = 3): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) {
        controller.close();
        return;
      }
      controller.enqueue(data.slice(offset, offset + size));
      offset += size;
    },
  });
}

describe("files from real tools", () => {
  it("reads a UTF-8 BOM, CRLF line ends and quoted commas, quotes and line breaks", async () => {
    const file = [
      `\uFEFF${HEADER}`,
      'bom.first@example.cz,"Novák, Jan","O\'Brien",2025-07-01 10:00:00,,2025-07-01 10:05:00,"He said ""yes, please""\r\nand then, later, ""stop""\r\n— no wait, keep me"',
      "after.notes@example.cz,Eva,Malá,2025-07-02 11:00:00,,,",
      "",
      "after.blank@example.cz,Ida,Nová,2025-07-03 12:00:00,,,",
    ].join("\r\n");
    const job = await importFile(gateway, key, "format=mailchimp&topics=tips", trickle(utf8(file)));
    expect(job).toMatchObject({ status: "done", processed: 3, imported: 3, rejectedCount: 0 });
    // The BOM is not part of the first column's name, nor of the first address.
    const decision = await decisionFor(gateway, key, "bom.first@example.cz", "tips");
    expect(decision).toMatchObject({ decision: "send", basis: "consent" });
    expect(decision.evidence[0]?.at).toBe("2025-07-01T10:00:00.000Z");
  });

  it("numbers lines as an editor does, past quoted line breaks and empty lines", async () => {
    const file = [
      HEADER,
      'ok.one@example.cz,A,B,2025-07-01 10:00:00,,,"one\ntwo\nthree"', // lines 2–4
      "", // line 5
      "not an address,A,B,2025-07-01 10:00:00,,,", // line 6
      'ok.two@example.cz,A,B,2025-07-01 10:00:00,,,"x\r\ny"', // lines 7–8
      "also bad,A,B,2025-07-01 10:00:00,,,", // line 9
    ].join("\n");
    const job = await importFile(gateway, key, "format=mailchimp&topics=tips", file);
    expect(job.rejected).toEqual([
      { line: 6, reason: "Email Address: not a valid e-mail address" },
      { line: 9, reason: "Email Address: not a valid e-mail address" },
    ]);
    expect(job.imported).toBe(2);
  });

  it("refuses rows with bytes that are not UTF-8 where they are read, and imports the rest", async () => {
    const file = bytes(
      `${HEADER}\n`,
      // Latin-1 é in the address.
      "jos",
      [0xe9],
      "@example.cz,Jos,X,2025-07-01 10:00:00,,,\n",
      // Windows-1250 ř in a name, which is not imported: the row is fine.
      "karel.dvorak@example.cz,Karel,Dvo",
      [0xf8],
      "\u00e1k,2025-07-01 10:00:00,,,\n",
      // A truncated UTF-8 sequence in a time.
      "cas@example.cz,A,B,2025-07-01 10:00:00",
      [0xc3],
      ",,,\n",
      // Correct UTF-8, split across reads by the trickle.
      "zdenek.cizek@příklad.example,Zdeněk,Čížek,2025-07-01 10:00:00,,,\n",
    );
    const job = await importFile(gateway, key, "format=mailchimp&topics=tips", trickle(file, 5));
    expect(job.rejected).toEqual([
      {
        line: 2,
        reason: "Email Address: holds bytes that are not UTF-8 (save or export the file as UTF-8)",
      },
      {
        line: 4,
        reason: "OPTIN_TIME: holds bytes that are not UTF-8 (save or export the file as UTF-8)",
      },
    ]);
    expect(job).toMatchObject({ processed: 4, imported: 2, rejectedCount: 2 });
    expect(await evidenceOf(gateway, tenantId, "karel.dvorak@example.cz")).toHaveLength(1);
    expect(await evidenceOf(gateway, tenantId, "zdenek.cizek@příklad.example")).toHaveLength(1);
  });

  it("treats addresses differing only in case as one person", async () => {
    const file = [
      HEADER,
      "Pavla.Horakova@Example.CZ,Pavla,Horáková,2025-05-05 05:05:05,,,",
      "pavla.horakova@example.cz,Pavla,Horáková,2025-05-05 05:05:05,,,",
      " PAVLA.HORAKOVA@EXAMPLE.CZ ,Pavla,Horáková,2025-09-09 09:09:09,,,",
    ].join("\n");
    const job = await importFile(gateway, key, "format=mailchimp&topics=tips", file);
    // The second is the first consent again; the third is a later one.
    expect(job).toMatchObject({ processed: 3, imported: 2, skipped: 1, rejectedCount: 0 });
    const rows = await evidenceOf(gateway, tenantId, "pavla.horakova@example.cz");
    expect(rows.map((r) => r.occurredAt).sort()).toEqual([
      Date.parse("2025-05-05T05:05:05Z"),
      Date.parse("2025-09-09T09:09:09Z"),
    ]);
    const subject = await gateway.deps.db.query.subjects.findFirst({
      where: (s, { eq }) => eq(s.subjectKey, rows[0]?.subjectKey ?? ""),
    });
    expect(subject?.email).toBe("Pavla.Horakova@Example.CZ");
    const decision = await decisionFor(gateway, key, "pavla.HORAKOVA@example.cz", "tips");
    expect(decision.evidence[0]?.at).toBe("2025-09-09T09:09:09.000Z");
  });

  it("refuses a row cut short or split by an unquoted comma", async () => {
    const file = [
      HEADER,
      "short.row@example.cz,A,B,2025-07-01 10:00:00",
      "split.row@example.cz,Novák, Jan,B,2025-07-01 10:00:00,,,",
      "fine.row@example.cz,A,B,2025-07-01 10:00:00,,,",
    ].join("\n");
    const job = await importFile(gateway, key, "format=mailchimp&topics=tips", file);
    expect(job.rejected).toEqual([
      {
        line: 2,
        reason: "has 4 fields where the header has 7 (an unquoted comma or line break?)",
      },
      {
        line: 3,
        reason: "has 8 fields where the header has 7 (an unquoted comma or line break?)",
      },
    ]);
    expect(job.imported).toBe(1);
  });

  it("imports every row before a quote that is never closed, and says where it began", async () => {
    const file = [
      HEADER,
      "before.quote@example.cz,A,B,2025-07-01 10:00:00,,,",
      'stray.quote@example.cz,"A,B,2025-07-01 10:00:00,,,',
      "swallowed@example.cz,A,B,2025-07-01 10:00:00,,,",
    ].join("\n");
    const job = await importFile(gateway, key, "format=mailchimp&topics=tips", file);
    expect(job.rejected).toEqual([
      {
        line: 3,
        reason:
          "a quoted field is never closed: this row and everything after it could not be read",
      },
    ]);
    expect(job).toMatchObject({ status: "done", imported: 1 });
  });

  it("reads a file separated by semicolons, as spreadsheets in much of Europe save CSV", async () => {
    const file = ["email;topics;collectedAt", "strednik@example.cz;tips;2025-10-10 10:10:10"].join(
      "\n",
    );
    const job = await importFile(gateway, key, "format=csv", file);
    expect(job).toMatchObject({ status: "done", imported: 1, rejectedCount: 0 });
  });
});
