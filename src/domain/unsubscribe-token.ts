/**
 * Unsubscribe tokens (docs/design.md §4, §5): the `TOKEN` in `https://…/u/TOKEN` and in
 * the `List-Unsubscribe` header of every marketing message.
 *
 * What a token must be, and how this one is:
 * - unforgeable and verifiable without a database read: an HMAC-SHA-256 tag
 *   over the payload, with a key derived from GROUNDS_SECRET for this purpose
 *   only (the same derivation as `keyedHasher` in digest.ts);
 * - carrying tenant, subject, topic and message, so the one-click POST
 *   (RFC 8058) can record the objection at once, even when the provider is
 *   down. The subject travels as its keyed hash (`subjectKey`), never as the
 *   address: tokens end up in URLs, proxies' logs and forwarded mails;
 * - valid long enough: 400 days. CAN-SPAM (15 U.S.C. 7704(a)(3)(A)(ii)) asks
 *   that the opt-out work for 30 days after sending, CASL (s. 11(3)) 60 days;
 *   people unsubscribe from year-old mails, and a dead link pushes them to
 *   the spam button instead;
 * - URL-safe and compact: a binary payload in base64url (RFC 4648 §5), about
 *   150 characters for the usual ids;
 * - a forged, damaged or expired token yields `null`, without saying which:
 *   the caller answers the same way for all of them, and learns nothing about
 *   any address.
 *
 * The layout and the codec are signed-token.ts's (version 1), with four
 * fields: tenantId | subjectKey | topic | messageId.
 */
import { type SignedTokenKey, signedTokenKey, signToken, verifyToken } from "./signed-token.js";

export interface UnsubscribeTokenPayload {
  tenantId: string;
  /** The keyed hash of the subject's address (services/deps.ts `subjectKeyOf`). */
  subjectKey: string;
  /** The topic id the recipient unsubscribes from. */
  topic: string;
  messageId: string;
  /** Epoch milliseconds. */
  issuedAt: number;
}

/** 400 days: well past CAN-SPAM's 30 and CASL's 60, and more than a year. */
export const UNSUBSCRIBE_TOKEN_LIFETIME_MS = 400 * 24 * 60 * 60 * 1000;

const PURPOSE = "unsubscribe-token";

/** The key of unsubscribe tokens: no other kind of token verifies under it. */
export type UnsubscribeTokenKey = SignedTokenKey<typeof PURPOSE>;

/**
 * Derives the token key from the master secret: HMAC(secret,
 * "grounds:unsubscribe-token"), the per-purpose derivation of digest.ts, so
 * this key never equals the key of subject hashes, API-key hashes or
 * confirmation tokens.
 */
export function unsubscribeTokenKey(secret: string): UnsubscribeTokenKey {
  return signedTokenKey(secret, PURPOSE);
}

/** Signs a token. Throws a TypeError for a payload it cannot carry (a bug). */
export function signUnsubscribeToken(
  key: UnsubscribeTokenKey,
  payload: UnsubscribeTokenPayload,
): string {
  return signToken(key, payload.issuedAt, [
    payload.tenantId,
    payload.subjectKey,
    payload.topic,
    payload.messageId,
  ]);
}

/**
 * The payload of a genuine, unexpired token, or null. Callers must still
 * check that `tenantId` is the tenant they serve before acting on it.
 */
export function verifyUnsubscribeToken(
  key: UnsubscribeTokenKey,
  token: string,
  now: number,
): UnsubscribeTokenPayload | null {
  const opened = verifyToken(key, token, {
    fieldCount: 4,
    lifetimeMs: UNSUBSCRIBE_TOKEN_LIFETIME_MS,
    now,
  });
  if (!opened) return null;
  const [tenantId, subjectKey, topic, messageId] = opened.fields;
  if (!tenantId || !subjectKey || !topic || !messageId) return null;
  return { tenantId, subjectKey, topic, messageId, issuedAt: opened.issuedAt };
}
