/**
 * The pure core's helpers: addresses, IP anonymisation, calendar arithmetic,
 * rule-set choice and the ages of digital consent, hashing and identifiers.
 */
import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isValidAddress, normaliseAddress } from "../../src/domain/address.js";
import { keyedHasher, sha256Hex } from "../../src/domain/digest.js";
import { newId } from "../../src/domain/ids.js";
import { anonymiseIp } from "../../src/domain/ip.js";
import {
  digitalConsentAge,
  eu,
  normaliseCountry,
  RULE_SETS,
  ruleSetForCountry,
  ruleSetRef,
} from "../../src/domain/rule-sets/index.js";
import { addMonths, youngestAgeAt } from "../../src/domain/time.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe("anonymiseIp", () => {
  it.each([
    ["192.168.1.77", "192.168.1.0"],
    ["203.0.113.255", "203.0.113.0"],
    [" 10.20.30.40 ", "10.20.30.0"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.0"],
  ])("keeps the /24 of IPv4 %s", (ip, expected) => {
    expect(anonymiseIp(ip)).toBe(expected);
  });

  it.each([
    ["2001:db8:abcd:12:3456:789a:bcde:f012", "2001:db8:abcd::"],
    ["2001:0DB8:ABCD:0012::1", "2001:db8:abcd::"],
    ["2001:db8:abcd::", "2001:db8:abcd::"],
    ["2001:db8::1", "2001:db8::"],
    ["[2001:db8:abcd:12::1]", "2001:db8:abcd::"],
    ["fe80::1%eth0", "fe80::"],
    ["::1", "::"],
    ["1:2:3:4:5:6::7", "1:2:3::"],
    // RFC 5952: the canonical short form.
    ["2001:0:0:1::", "2001::"],
  ])("keeps the /48 of IPv6 %s", (ip, expected) => {
    expect(anonymiseIp(ip)).toBe(expected);
  });

  it("gives one network for every spelling of it", () => {
    const spellings = [
      "2001:db8:abcd:1::42",
      "2001:0db8:abcd:0001:0000:0000:0000:0042",
      "2001:DB8:ABCD:FFFF:FFFF:FFFF:FFFF:FFFF",
      "[2001:db8:abcd::]",
    ];
    expect(new Set(spellings.map(anonymiseIp))).toEqual(new Set(["2001:db8:abcd::"]));
  });

  it.each([
    ["::ffff:203.0.113.45", "203.0.113.0"],
    ["::FFFF:192.168.1.77", "192.168.1.0"],
    ["::ffff:cb00:712d", "203.0.113.0"],
    ["0:0:0:0:0:ffff:10.20.30.40", "10.20.30.0"],
  ])("treats the IPv4-mapped IPv6 address %s as the IPv4 address it is", (ip, expected) => {
    expect(anonymiseIp(ip)).toBe(expected);
  });

  it.each([
    "",
    "   ",
    "localhost",
    "not an ip",
    "256.1.1.1",
    "1.2.3.999",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.-4",
    "::ffff:300.1.1.1",
    "2001:db8::1::2",
    "2001:db8:::1",
    "12345::1",
    "gggg::1",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::8",
    "1:2:3:4:5:6:7",
    "abc1.2.3.4",
  ])("refuses %j", (ip) => {
    expect(anonymiseIp(ip)).toBeNull();
  });
});

describe("isValidAddress", () => {
  it.each([
    "jan.novak@example.cz",
    "Jan.Novak@Example.CZ",
    "  jan@example.cz  ",
    "first+tag@sub.example.co.uk",
    "o'brien@example.ie",
    "a@b.cz",
    "x_y-z@ex-ample.com",
    "jan@příklad.cz",
    "jan@xn--pklad-zsa96e.cz",
    // RFC 5321 §4.1.2 atext: `'`, `=`, `+` and the other specials.
    "a=b@example.com",
    "!#$%&'*+/=?^_`{|}~-@example.com",
    // RFC 6531 §3.3: a UTF-8 local part (SMTPUTF8).
    "jiří@příklad.cz",
    "用户@例子.广告",
    // UTS #46 maps full-width letters and the ideographic full stop.
    "jan@ｅｘａｍｐｌｅ。cz",
  ])("accepts %j", (address) => {
    expect(isValidAddress(address)).toBe(true);
  });

  it.each([
    "",
    "jan",
    "jan@",
    "@example.cz",
    "jan@localhost",
    "jan novak@example.cz",
    "jan@exa mple.cz",
    "jan..novak@example.cz",
    ".jan@example.cz",
    "jan.@example.cz",
    "jan@-example.cz",
    "jan@example-.cz",
    "jan@example..cz",
    "jan@.example.cz",
    "jan@b@example.cz",
    '"jan"@example.cz',
    "jan\r\nBcc: x@example.cz",
    "jan@example.cz\r\nBcc: x@example.cz",
    `${"a".repeat(65)}@example.cz`,
    `jan@${"a".repeat(64)}.cz`,
    `${"a".repeat(64)}@${`${"b".repeat(60)}.`.repeat(4)}cz`,
    // 64 octets at most (RFC 5321 §4.5.3.1.1), counted in UTF-8.
    `${"ř".repeat(33)}@example.cz`,
    "jan@příklad",
    "jan@příklad.123",
    "jan@exa%6dple.cz",
    "jan@pří/klad.cz",
    "jan\u0000@example.cz",
    "jan\u200b@example.cz",
  ])("refuses %j", (address) => {
    expect(isValidAddress(address)).toBe(false);
  });

  it("accepts the longest local part and the longest label", () => {
    expect(isValidAddress(`${"a".repeat(64)}@example.cz`)).toBe(true);
    expect(isValidAddress(`jan@${"a".repeat(63)}.cz`)).toBe(true);
  });
});

describe("normaliseAddress", () => {
  it("trims and lower-cases, so a change of case does not dodge an objection", () => {
    expect(normaliseAddress("  Jan.Novak@Example.CZ \n")).toBe("jan.novak@example.cz");
    expect(normaliseAddress("JAN@EXAMPLE.CZ")).toBe(normaliseAddress("jan@example.cz"));
  });

  it("keeps everything else as given", () => {
    expect(normaliseAddress("first+tag@sub.example.com")).toBe("first+tag@sub.example.com");
  });

  it("an ASCII address normalises exactly as before (trim, lower-case): stored subjects keep their keys", () => {
    for (const address of [
      " O'Brien@Example.IE ",
      "A=B+c@Sub.Example.COM",
      "XN--PKLAD-ZSA96E@XN--PKLAD-ZSA96E.CZ",
      "weird..but@ascii",
    ]) {
      expect(normaliseAddress(address)).toBe(address.trim().toLowerCase());
    }
  });

  it("an IDN and its punycode spelling are one subject (UTS #46)", () => {
    const punycode = "jan@xn--pklad-zsa96e.cz";
    expect(normaliseAddress("jan@příklad.cz")).toBe(punycode);
    expect(normaliseAddress("Jan@PŘÍKLAD.CZ")).toBe(punycode);
    expect(normaliseAddress("jan@XN--PKLAD-ZSA96E.cz")).toBe(punycode);
    expect(normaliseAddress("jan@ｅｘａｍｐｌｅ。cz")).toBe("jan@example.cz");
    expect(normaliseAddress("info@bücher.example")).toBe("info@xn--bcher-kva.example");
  });

  it("a UTF-8 local part is lower-cased in NFC, so composed and decomposed spellings match", () => {
    const composed = "jiří@example.cz";
    const decomposed = "jir\u030Ci\u0301@example.cz";
    expect(decomposed).not.toBe(composed);
    expect(normaliseAddress(decomposed)).toBe(normaliseAddress("JIŘÍ@example.cz"));
  });
});

describe("addMonths", () => {
  it.each([
    ["2026-01-15T10:30:00.000Z", 1, "2026-02-15T10:30:00.000Z"],
    ["2026-01-31T00:00:00.000Z", 1, "2026-02-28T00:00:00.000Z"],
    ["2024-01-31T00:00:00.000Z", 1, "2024-02-29T00:00:00.000Z"],
    ["2026-03-31T23:59:59.999Z", -1, "2026-02-28T23:59:59.999Z"],
    ["2026-08-31T12:00:00.000Z", 1, "2026-09-30T12:00:00.000Z"],
    ["2026-05-31T12:00:00.000Z", -1, "2026-04-30T12:00:00.000Z"],
    ["2026-12-15T08:00:00.000Z", 1, "2027-01-15T08:00:00.000Z"],
    ["2026-01-15T08:00:00.000Z", -1, "2025-12-15T08:00:00.000Z"],
    ["2026-01-31T00:00:00.000Z", 13, "2027-02-28T00:00:00.000Z"],
    ["2024-02-29T00:00:00.000Z", 12, "2025-02-28T00:00:00.000Z"],
    ["2024-02-29T00:00:00.000Z", 48, "2028-02-29T00:00:00.000Z"],
    ["2024-02-29T00:00:00.000Z", -24, "2022-02-28T00:00:00.000Z"],
    ["2026-06-15T10:00:00.000Z", -26, "2024-04-15T10:00:00.000Z"],
    ["2026-06-15T10:00:00.000Z", 24, "2028-06-15T10:00:00.000Z"],
    ["2026-06-15T10:00:00.000Z", 0, "2026-06-15T10:00:00.000Z"],
  ])("%s plus %i months is %s", (from, months, expected) => {
    expect(iso(addMonths(at(from), months))).toBe(expected);
  });

  it("never moves a day of the month forward, only clamps it to the month's end", () => {
    for (let day = 1; day <= 31; day++) {
      const from = Date.UTC(2026, 0, day, 9);
      for (let months = -30; months <= 30; months++) {
        const result = new Date(addMonths(from, months));
        const expectedMonth = (((months % 12) + 12) % 12) as number;
        expect(result.getUTCMonth()).toBe(expectedMonth);
        expect(result.getUTCDate()).toBeLessThanOrEqual(day);
        expect(result.getUTCHours()).toBe(9);
      }
    }
  });
});

describe("youngestAgeAt", () => {
  it.each([
    [2000, "2015-06-01T12:00:00Z", 14],
    [2000, "2015-01-01T00:00:00Z", 14],
    [2000, "2015-12-30T23:59:59Z", 14],
    [2000, "2015-12-31T00:00:00Z", 15],
    [2000, "2015-12-31T23:59:59Z", 15],
    [2011, "2026-04-15T10:00:00Z", 14],
    [2010, "2026-04-15T10:00:00Z", 15],
    [2024, "2024-12-31T00:00:00Z", 0],
  ])("someone born in %i is at least … at %s: %i", (birthYear, when, age) => {
    expect(youngestAgeAt(birthYear, at(when))).toBe(age);
  });
});

describe("ruleSetForCountry", () => {
  it.each([
    ["CZ", "cz@1"],
    ["DE", "de@1"],
    ["GB", "uk@1"],
    ["UK", "uk@1"],
    ["US", "us@1"],
    ["CA", "ca@1"],
    ["SK", "eu@1"],
    ["FR", "eu@1"],
    ["AT", "eu@1"],
    ["JP", "eu@1"],
    ["cz", "cz@1"],
    ["de", "de@1"],
    ["uk", "uk@1"],
    [" gb ", "uk@1"],
    ["us", "us@1"],
    ["sk", "eu@1"],
  ])("%j → %s", (country, expected) => {
    expect(ruleSetRef(ruleSetForCountry(country))).toBe(expected);
  });

  it("normalises country codes to ISO upper case, with UK as GB", () => {
    expect(normaliseCountry(" cz ")).toBe("CZ");
    expect(normaliseCountry("uk")).toBe("GB");
    expect(normaliseCountry("Gb")).toBe("GB");
  });

  it("has one versioned rule set per id, eu among them", () => {
    const refs = RULE_SETS.map(ruleSetRef);
    expect(new Set(refs).size).toBe(refs.length);
    expect(refs).toContain("eu@1");
  });

  it("never gives a rule set looser than the law's defaults (docs/design.md §3)", () => {
    for (const ruleSet of RULE_SETS) {
      expect(ruleSet.consent.lifetimeMonths).toBeLessThanOrEqual(24);
      if (ruleSet.softOptIn) expect(ruleSet.softOptIn.months).toBeLessThanOrEqual(24);
    }
  });
});

describe("digitalConsentAge", () => {
  /** GDPR Art. 8(1) as the member states set it; EEA by the EEA Agreement; GB by DPA 2018 s. 9. */
  const AGES: Record<string, number> = {
    AT: 14,
    BE: 13,
    BG: 14,
    CY: 14,
    CZ: 15,
    DE: 16,
    DK: 13,
    EE: 13,
    ES: 14,
    FI: 13,
    FR: 15,
    GR: 15,
    HR: 16,
    HU: 16,
    IE: 16,
    IT: 14,
    LT: 14,
    LU: 16,
    LV: 13,
    MT: 13,
    NL: 16,
    PL: 16,
    PT: 13,
    RO: 16,
    SE: 13,
    SI: 15,
    SK: 16,
    IS: 13,
    LI: 16,
    NO: 13,
    GB: 13,
  };

  it("knows every EU and EEA country and GB, each between 13 and 16 (Art. 8(1))", () => {
    expect(Object.keys(AGES)).toHaveLength(27 + 3 + 1);
    for (const [country, age] of Object.entries(AGES)) {
      const own = digitalConsentAge(country, ruleSetForCountry(country));
      expect(own, country).toBe(age);
      expect(own).toBeGreaterThanOrEqual(13);
      expect(own).toBeLessThanOrEqual(16);
      // The country's own age wins over any rule set's default.
      expect(digitalConsentAge(country, eu), country).toBe(age);
    }
  });

  it.each([
    ["CZ", 15],
    ["DE", 16],
    ["FR", 15],
    ["GB", 13],
    ["UK", 13],
    ["AT", 14],
    ["ES", 14],
    ["NL", 16],
    ["BE", 13],
    ["cz", 15],
  ])("%s: %i", (country, age) => {
    expect(digitalConsentAge(country, ruleSetForCountry(country))).toBe(age);
  });

  it("falls back to the rule set's default elsewhere", () => {
    expect(digitalConsentAge("JP", ruleSetForCountry("JP"))).toBe(16);
    expect(digitalConsentAge("US", ruleSetForCountry("US"))).toBe(13);
    expect(digitalConsentAge("CA", ruleSetForCountry("CA"))).toBe(13);
    // A strict tenant asks the EU rules about a US subject: GDPR's 16.
    expect(digitalConsentAge("US", eu)).toBe(16);
  });
});

describe("hashing", () => {
  it("sha256Hex is SHA-256 in lower-case hex", async () => {
    expect(await sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(await sha256Hex("Souhlasím se zasíláním novinek.")).toBe(
      createHash("sha256").update("Souhlasím se zasíláním novinek.", "utf8").digest("hex"),
    );
  });

  it("keyedHasher is HMAC-SHA-256 under a key derived per purpose, as documented for auditors", async () => {
    const secret = "master-secret-0123456789";
    const derived = createHmac("sha256", secret).update("grounds:subject").digest();
    const expected = createHmac("sha256", derived).update("jan@example.cz").digest("hex");
    const hash = await keyedHasher(secret, "subject");
    expect(await hash("jan@example.cz")).toBe(expected);
  });

  it("keyedHasher is deterministic, and differs by purpose, secret and text", async () => {
    const a = await keyedHasher("secret-one", "subject");
    const again = await keyedHasher("secret-one", "subject");
    const otherPurpose = await keyedHasher("secret-one", "token");
    const otherSecret = await keyedHasher("secret-two", "subject");
    const value = await a("jan@example.cz");
    expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(await a("jan@example.cz")).toBe(value);
    expect(await again("jan@example.cz")).toBe(value);
    expect(await otherPurpose("jan@example.cz")).not.toBe(value);
    expect(await otherSecret("jan@example.cz")).not.toBe(value);
    expect(await a("jan@example.com")).not.toBe(value);
  });
});

describe("newId", () => {
  it("is the prefix and a UUIDv7 in hex", () => {
    const id = newId("ev", at("2026-06-15T10:00:00Z"));
    expect(id).toMatch(/^ev_[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  });

  it("carries its time in its first 48 bits", () => {
    const when = at("2026-06-15T10:00:00.123Z");
    const id = newId("msg", when);
    expect(Number.parseInt(id.slice("msg_".length, "msg_".length + 12), 16)).toBe(when);
  });

  it("sorts by time, and is unique within one millisecond", () => {
    const start = at("2026-06-15T10:00:00Z");
    const times = [0, 1, 2, 1000, 60_000, 86_400_000, 10 * 365 * 86_400_000].map(
      (offset) => start + offset,
    );
    const ids = times.map((time) => newId("ev", time));
    expect([...ids].sort()).toEqual(ids);
    const same = Array.from({ length: 100 }, () => newId("ev", start));
    expect(new Set(same).size).toBe(same.length);
  });

  it("defaults to the current time", () => {
    const before = Date.now();
    const id = newId("ev");
    const after = Date.now();
    const time = Number.parseInt(id.slice(3, 15), 16);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
  });
});
