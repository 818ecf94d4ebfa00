/**
 * Double opt-in confirmation tokens (docs/design.md §5): the `TOKEN` in
 * `https://…/c/TOKEN` of a confirmation mail.
 *
 * Signed like unsubscribe tokens (signed-token.ts) but under a key derived
 * for this purpose only, HMAC(secret, "grounds:confirm-token"): an
 * unsubscribe link, which anyone the mail was forwarded to holds, must not
 * confirm a subscription, and a confirmation link must not unsubscribe.
 *
 * It carries tenant, subject (as its keyed hash, never the address) and the
 * subscription request it confirms. Its signature is good for 30 days at
 * most; the request's own expiry, kept with its pending consents (7 days by
 * default), is what a confirmation is checked against.
 */
import { type SignedTokenKey, signedTokenKey, signToken, verifyToken } from "./signed-token.js";

export interface ConfirmTokenPayload {
  tenantId: string;
  subjectKey: string;
  /** The subscription request (`sub_…`) whose pending consents it confirms. */
  subscriptionId: string;
  /** Epoch milliseconds. */
  issuedAt: number;
}

/** The longest a confirmation link can be valid; a request may set less. */
export const CONFIRM_TOKEN_MAX_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

const PURPOSE = "confirm-token";

export type ConfirmTokenKey = SignedTokenKey<typeof PURPOSE>;

export function confirmTokenKey(secret: string): ConfirmTokenKey {
  return signedTokenKey(secret, PURPOSE);
}

export function signConfirmToken(key: ConfirmTokenKey, payload: ConfirmTokenPayload): string {
  return signToken(key, payload.issuedAt, [
    payload.tenantId,
    payload.subjectKey,
    payload.subscriptionId,
  ]);
}

/** The payload of a genuine token signed in the last 30 days, or null. */
export function verifyConfirmToken(
  key: ConfirmTokenKey,
  token: string,
  now: number,
): ConfirmTokenPayload | null {
  const opened = verifyToken(key, token, {
    fieldCount: 3,
    lifetimeMs: CONFIRM_TOKEN_MAX_LIFETIME_MS,
    now,
  });
  if (!opened) return null;
  const [tenantId, subjectKey, subscriptionId] = opened.fields;
  if (!tenantId || !subjectKey || !subscriptionId) return null;
  return { tenantId, subjectKey, subscriptionId, issuedAt: opened.issuedAt };
}
