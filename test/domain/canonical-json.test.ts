import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyedHasher } from "../../src/domain/digest.js";
import {
  canonicalJson,
  portableSha256Hex,
  sha256HexSync,
  useSha256,
} from "../../src/domain/proof/chain.js";
import { nodeKeyedHasher, nodeSha256Hex } from "../../src/entry/node-hashes.js";

/**
 * The chain's hashes are only re-computable by an auditor if the canonical
 * form is exactly RFC 8785 (JCS). Our serializer is a fast path for plain
 * JSON data; the reference is the `canonicalize` package.
 */
describe("canonical JSON (RFC 8785)", () => {
  it("is the same as the reference implementation for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ depthSize: "medium" }), (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 2000 },
    );
  });

  it("is the same for values already in canonical order (its fast path)", () => {
    const sortedCopy = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(sortedCopy);
      if (value === null || typeof value !== "object") return value;
      const copy = {};
      for (const key of Object.keys(value).sort()) {
        // defineProperty: a "__proto__" member stays a member.
        Object.defineProperty(copy, key, {
          value: sortedCopy((value as Record<string, unknown>)[key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return copy;
    };
    fc.assert(
      fc.property(fc.jsonValue({ depthSize: "medium" }), (value) => {
        expect(canonicalJson(sortedCopy(value))).toBe(canonicalize(value));
      }),
      { numRuns: 2000 },
    );
  });

  it("sorts members by UTF-16 code units, numbers as ECMAScript writes them", () => {
    expect(
      canonicalJson({ b: 1, a: [1e21, 0.1, -0], "\u00e9": true, "\ud83d\ude00": null, A: "x" }),
    ).toBe('{"A":"x","a":[1e+21,0.1,0],"b":1,"é":true,"😀":null}');
    // Array-index-like names sort as strings, not as numbers.
    expect(canonicalJson({ "10": 1, "2": 2, "1": 3 })).toBe('{"1":3,"10":1,"2":2}');
  });

  it("leaves out undefined members, as JSON does", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it("refuses what is not JSON data rather than guessing", () => {
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow();
    expect(() => canonicalJson("\ud800")).toThrow();
    expect(() => canonicalJson(new Date(0))).toThrow();
    expect(() => canonicalJson(() => 1)).toThrow();
    expect(() => canonicalJson([undefined])).toThrow();
  });
});

describe("SHA-256 implementations", () => {
  it("Node's native SHA-256 computes the same function as the portable one", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 3000 }), (text) => {
        expect(nodeSha256Hex(text)).toBe(portableSha256Hex(text));
      }),
      { numRuns: 500 },
    );
    expect(nodeSha256Hex("")).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("Node's native keyed hash computes the same subject keys as the portable one", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.string({ unit: "grapheme", maxLength: 300 }),
        (secret, text) => {
          expect(nodeKeyedHasher(secret, "subject")(text)).toBe(
            keyedHasher(secret, "subject")(text),
          );
        },
      ),
      { numRuns: 300 },
    );
    // Per purpose, as the portable one: the same text under another purpose differs.
    expect(nodeKeyedHasher("s", "subject")("jan@example.cz")).not.toBe(
      nodeKeyedHasher("s", "token")("jan@example.cz"),
    );
  });

  it("hashes with the installed implementation", () => {
    const seen: string[] = [];
    useSha256((text) => {
      seen.push(text);
      return portableSha256Hex(text);
    });
    try {
      expect(sha256HexSync("abc")).toBe(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      );
      expect(seen).toEqual(["abc"]);
    } finally {
      useSha256(portableSha256Hex);
    }
  });
});

describe("a justification's hash, as docs/proof-log.md writes it down", () => {
  it("is SHA-256 of the RFC 8785 form of the documented content", async () => {
    const { createHash } = await import("node:crypto");
    const { justificationContent } = await import(
      "../../src/services/proofs/justification-content.js"
    );
    const { linkHash } = await import("../../src/domain/proof/chain.js");
    const row = {
      tenantId: "ten_1",
      seq: 7,
      prevHash: "ab".repeat(32),
      id: "jus_1",
      messageId: "msg_1",
      subjectKey: "cd".repeat(32),
      topic: "tips",
      decision: "send" as const,
      basis: "consent",
      reasons: [],
      ruleSet: "cz@1",
      evidence: [
        {
          id: "ev_1",
          kind: "consent-granted",
          at: "2026-01-02T03:04:05.000Z",
          hash: "ef".repeat(32),
        },
      ],
      trace: [
        { rule: "objection", outcome: "passed", detail: "no objection", ruleSet: "cz@1" },
        {
          rule: "consent",
          outcome: "decided",
          detail: "consent to tips",
          ruleSet: "cz@1",
          evidence: ["ev_1"],
        },
      ],
      decidedAt: Date.UTC(2026, 10, 23, 12),
      supersedes: null,
    };
    // An auditor's re-implementation: the table of docs/proof-log.md, a
    // reference JCS, any SHA-256.
    const documented = {
      v: 1,
      tenant: row.tenantId,
      seq: row.seq,
      prev: row.prevHash,
      id: row.id,
      message: row.messageId,
      subject: row.subjectKey,
      topic: row.topic,
      decision: row.decision,
      basis: row.basis,
      reasons: row.reasons,
      ruleSet: row.ruleSet,
      evidence: row.evidence,
      trace: row.trace,
      decidedAt: "2026-11-23T12:00:00.000Z",
      supersedes: null,
    };
    const expected = createHash("sha256")
      .update(String(canonicalize(documented)))
      .digest("hex");
    expect(linkHash(justificationContent(row))).toBe(expected);
  });
});
