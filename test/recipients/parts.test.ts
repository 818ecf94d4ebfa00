import { describe, expect, it } from "vitest";
import {
  CONFIRM_TOKEN_MAX_LIFETIME_MS,
  confirmTokenKey,
  signConfirmToken,
  verifyConfirmToken,
} from "../../src/domain/confirm-token.js";
import {
  signUnsubscribeToken,
  unsubscribeTokenKey,
  verifyUnsubscribeToken,
} from "../../src/domain/unsubscribe-token.js";
import { pageLocale } from "../../src/http/pages/i18n.js";
import { fixedWindowLimiter } from "../../src/services/rate-limiter.js";

/** The parts of the recipient pages that need no gateway: tokens, languages, the limiter. */

const SECRET = "a-test-secret-of-some-length-0123456789";
const now = Date.parse("2026-11-23T12:00:00Z");
const payload = {
  tenantId: "ten_01a2",
  subjectKey: "ab".repeat(32),
  subscriptionId: "sub_01a2b3",
  issuedAt: now,
};

describe("confirmation tokens", () => {
  it("round-trip tenant, subject and subscription", () => {
    const token = signConfirmToken(confirmTokenKey(SECRET), payload);
    expect(verifyConfirmToken(confirmTokenKey(SECRET), token, now)).toEqual(payload);
  });

  it("are signed under a key of their own: neither kind of token passes as the other", () => {
    const confirm = signConfirmToken(confirmTokenKey(SECRET), payload);
    const unsubscribe = signUnsubscribeToken(unsubscribeTokenKey(SECRET), {
      tenantId: payload.tenantId,
      subjectKey: payload.subjectKey,
      topic: "tips",
      messageId: "msg_01",
      issuedAt: now,
    });
    expect(verifyConfirmToken(confirmTokenKey(SECRET), unsubscribe, now)).toBeNull();
    expect(verifyUnsubscribeToken(unsubscribeTokenKey(SECRET), confirm, now)).toBeNull();
    expect(verifyConfirmToken(confirmTokenKey("another secret"), confirm, now)).toBeNull();
  });

  it("are good for 30 days at most (a request's own expiry is checked against the database)", () => {
    const token = signConfirmToken(confirmTokenKey(SECRET), payload);
    const key = confirmTokenKey(SECRET);
    expect(verifyConfirmToken(key, token, now + CONFIRM_TOKEN_MAX_LIFETIME_MS)).not.toBeNull();
    expect(verifyConfirmToken(key, token, now + CONFIRM_TOKEN_MAX_LIFETIME_MS + 1)).toBeNull();
  });
});

describe("the page's language", () => {
  it("follows an explicit choice, then Accept-Language by q-value, then English", () => {
    expect(pageLocale("cs", "en")).toBe("cs");
    expect(pageLocale("de", "cs")).toBe("cs");
    expect(pageLocale(undefined, "cs-CZ,cs;q=0.9,en;q=0.8")).toBe("cs");
    expect(pageLocale(undefined, "de-DE, en;q=0.5, cs;q=0.7")).toBe("cs");
    expect(pageLocale(undefined, "cs;q=0, en")).toBe("en");
    expect(pageLocale(undefined, "fr, de")).toBe("en");
    expect(pageLocale(undefined, undefined)).toBe("en");
  });
});

describe("the fixed-window limiter", () => {
  it("allows `limit` per window and key, then says when to retry", () => {
    let t = 60_000;
    const limiter = fixedWindowLimiter(() => t);
    for (let i = 0; i < 3; i++) expect(limiter.hit("a", 3, 60_000).allowed).toBe(true);
    const refused = limiter.hit("a", 3, 60_000);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(limiter.hit("b", 3, 60_000).allowed).toBe(true);
    t += 30_000;
    expect(limiter.hit("a", 3, 60_000).retryAfterSeconds).toBe(30);
    t += 30_000;
    expect(limiter.hit("a", 3, 60_000).allowed).toBe(true);
  });

  it("keeps its memory bounded", () => {
    const limiter = fixedWindowLimiter(() => 0, 100);
    for (let i = 0; i < 1000; i++) limiter.hit(`key-${i}`, 1, 60_000);
    // The newest keys are still counted; the oldest were forgotten (they start afresh).
    expect(limiter.hit("key-999", 1, 60_000).allowed).toBe(false);
    expect(limiter.hit("key-0", 1, 60_000).allowed).toBe(true);
  });
});
