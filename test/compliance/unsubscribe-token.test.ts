import { describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import {
  signUnsubscribeToken,
  UNSUBSCRIBE_TOKEN_LIFETIME_MS,
  type UnsubscribeTokenPayload,
  unsubscribeTokenKey,
  verifyUnsubscribeToken,
} from "../../src/domain/unsubscribe-token.js";

const DAY = 24 * 60 * 60 * 1000;
const issuedAt = Date.UTC(2025, 10, 23, 9, 30, 15, 123);
const key = unsubscribeTokenKey("the master secret");

const payload: UnsubscribeTokenPayload = {
  tenantId: newId("ten", issuedAt),
  // A keyed hash of the address, as services/deps.ts subjectKeyOf makes it.
  subjectKey: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  topic: "newsletter",
  messageId: newId("msg", issuedAt),
  issuedAt,
};

/** Flips one bit of the decoded token and encodes it again. */
function flipBit(token: string, bit: number): string {
  const binary = atob(token.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const index = Math.floor(bit / 8);
  bytes[index] = (bytes[index] ?? 0) ^ (1 << (bit % 8));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("unsubscribe tokens", () => {
  it("round-trips tenant, subject, topic, message and issue time", () => {
    const token = signUnsubscribeToken(key, payload);
    expect(verifyUnsubscribeToken(key, token, issuedAt + 1000)).toEqual(payload);
  });

  it("keeps its layout: a token signed by an earlier version still reads the same", () => {
    // Links already in people's mailboxes must keep working after an upgrade,
    // so the bytes of a token (signed-token.ts) never change for a version.
    const fixed: UnsubscribeTokenPayload = {
      tenantId: "ten_019ab04e2a13712f8d3c5e7a9b1c2d3e",
      subjectKey: payload.subjectKey,
      topic: "newsletter",
      messageId: "msg_019ab04e2a137b4c9e8f0a1b2c3d4e5f",
      issuedAt,
    };
    const earlier =
      "AQGasAy40wIDdGVuEAGasE4qE3EvjTxeepscLT4BIJ-G0IGITH1lmi_qoMVa0BWjv08bKwuCLNFdbBWw8AoIAApuZXdzbGV0dGVyAgNtc2cQAZqwTioTe0yejwobLD1OX2Xi7k9lyIAkdMUoAXEcoeE";
    expect(signUnsubscribeToken(key, fixed)).toBe(earlier);
    expect(verifyUnsubscribeToken(key, earlier, issuedAt + DAY)).toEqual(fixed);
  });

  it("is URL-safe base64url and compact", () => {
    const token = signUnsubscribeToken(key, payload);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThan(160);
    expect(encodeURIComponent(token)).toBe(token);
  });

  it("round-trips fields of any shape (text topics, upper-case ids)", () => {
    const odd = {
      ...payload,
      tenantId: "Tenant-Ünï",
      topic: "ab",
      messageId: "MSG_ABCDEF",
      subjectKey: "00ff",
    };
    expect(verifyUnsubscribeToken(key, signUnsubscribeToken(key, odd), issuedAt)).toEqual(odd);
  });

  it("carries no address, only the subject's keyed hash", () => {
    const address = "anna.novakova@example.cz";
    const token = signUnsubscribeToken(key, payload);
    const decoded = atob(token.replace(/-/g, "+").replace(/_/g, "/"));
    expect(decoded).not.toContain(address);
    expect(decoded).not.toContain("anna");
    expect(token).not.toContain("anna");
  });

  it("refuses every single flipped bit", () => {
    const token = signUnsubscribeToken(key, payload);
    const bits = atob(token.replace(/-/g, "+").replace(/_/g, "/")).length * 8;
    for (let bit = 0; bit < bits; bit++) {
      expect(verifyUnsubscribeToken(key, flipBit(token, bit), issuedAt)).toBeNull();
    }
  });

  it("refuses a changed character, including a non-canonical last one", () => {
    const token = signUnsubscribeToken(key, payload);
    const last = token.at(-1) ?? "A";
    // base64url's last character may carry unused low bits: any other
    // spelling of it must not pass as the same token.
    for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
      if (c === last) continue;
      expect(verifyUnsubscribeToken(key, token.slice(0, -1) + c, issuedAt)).toBeNull();
    }
  });

  it("refuses truncated, extended and malformed tokens", () => {
    const token = signUnsubscribeToken(key, payload);
    for (let length = 0; length < token.length; length += 7) {
      expect(verifyUnsubscribeToken(key, token.slice(0, length), issuedAt)).toBeNull();
    }
    expect(verifyUnsubscribeToken(key, token.slice(0, -1), issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(key, `${token}A`, issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(key, `${token}AAAA`, issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(key, `${token}=`, issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(key, token.replace(/./, "+"), issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(key, ` ${token}`, issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(key, "", issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(key, "x".repeat(5000), issuedAt)).toBeNull();
  });

  it("refuses a token signed with another key", () => {
    const other = unsubscribeTokenKey("another secret");
    const token = signUnsubscribeToken(other, payload);
    expect(verifyUnsubscribeToken(key, token, issuedAt)).toBeNull();
    expect(verifyUnsubscribeToken(other, token, issuedAt)).toEqual(payload);
  });

  it("returns another tenant's genuine token with its tenant, for the caller to check", () => {
    const foreign = { ...payload, tenantId: newId("ten", issuedAt) };
    const verified = verifyUnsubscribeToken(key, signUnsubscribeToken(key, foreign), issuedAt);
    expect(verified?.tenantId).toBe(foreign.tenantId);
    expect(verified?.tenantId).not.toBe(payload.tenantId);
  });

  it("is valid for at least a year and expires after 400 days", () => {
    const token = signUnsubscribeToken(key, payload);
    expect(verifyUnsubscribeToken(key, token, issuedAt + 30 * DAY)).toEqual(payload);
    expect(verifyUnsubscribeToken(key, token, issuedAt + 365 * DAY)).toEqual(payload);
    expect(verifyUnsubscribeToken(key, token, issuedAt + 400 * DAY)).toEqual(payload);
    expect(UNSUBSCRIBE_TOKEN_LIFETIME_MS).toBe(400 * DAY);
    expect(verifyUnsubscribeToken(key, token, issuedAt + 400 * DAY + 1)).toBeNull();
    expect(verifyUnsubscribeToken(key, token, issuedAt + 401 * DAY)).toBeNull();
  });

  it("tolerates a little clock skew, not a token from the far future", () => {
    const token = signUnsubscribeToken(key, payload);
    expect(verifyUnsubscribeToken(key, token, issuedAt - 60_000)).toEqual(payload);
    expect(verifyUnsubscribeToken(key, token, issuedAt - 2 * DAY)).toBeNull();
  });

  it("derives the same key from the same secret, so any instance verifies", () => {
    const token = signUnsubscribeToken(key, payload);
    const again = unsubscribeTokenKey("the master secret");
    expect(verifyUnsubscribeToken(again, token, issuedAt)).toEqual(payload);
    expect(signUnsubscribeToken(again, payload)).toBe(token);
  });

  it("refuses to sign what it cannot carry", () => {
    expect(() => signUnsubscribeToken(key, { ...payload, topic: "" })).toThrow(TypeError);
    expect(() => signUnsubscribeToken(key, { ...payload, issuedAt: -1 })).toThrow(TypeError);
    expect(() => signUnsubscribeToken(key, { ...payload, issuedAt: 1.5 })).toThrow(TypeError);
    expect(() => signUnsubscribeToken(key, { ...payload, topic: "x".repeat(300) })).toThrow(
      TypeError,
    );
    expect(() => unsubscribeTokenKey("")).toThrow(TypeError);
  });

  it("signs synchronously (a send signs one per recipient), a distinct token per subject", () => {
    const tokens: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const token = signUnsubscribeToken(key, {
        ...payload,
        subjectKey: i.toString(16).padStart(64, "0"),
      });
      // A string, not a promise: no await per recipient on the hot path.
      expect(typeof token).toBe("string");
      tokens.push(token);
    }
    expect(new Set(tokens).size).toBe(10_000);
  });
});
