/**
 * The catalogue of problems (RFC 9457) the gateway answers with. The `type`
 * of each is stable API: clients branch on it, so entries are only ever added.
 * Details never carry personal data (no addresses, IPs or other input values).
 */
export const PROBLEMS = {
  "invalid-request": { status: 400, title: "The request is not valid" },
  "invalid-json": { status: 400, title: "The body is not valid JSON" },
  unauthenticated: { status: 401, title: "A valid API key is required" },
  forbidden: { status: 403, title: "This key may not do that" },
  "not-found": { status: 404, title: "No such resource" },
  "topic-not-found": { status: 404, title: "No such topic" },
  "suppression-not-found": { status: 404, title: "No such active suppression" },
  "key-not-found": { status: 404, title: "No such API key" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  "topic-exists": { status: 409, title: "A topic with this id exists" },
  "last-admin-key": {
    status: 409,
    title: "The tenant's last active admin key cannot be revoked",
  },
  "message-not-cancellable": {
    status: 409,
    title: "Nothing of this message is left to cancel: it has been handed to the provider",
  },
  "idempotency-key-in-use": {
    status: 409,
    title: "A request with this Idempotency-Key is still being processed",
  },
  "payload-too-large": { status: 413, title: "The body is too large" },
  "unsupported-media-type": { status: 415, title: "Unsupported content type" },
  "unknown-topic": { status: 422, title: "A topic named in the request does not exist" },
  "not-a-marketing-topic": {
    status: 422,
    title: "Consent is given to marketing topics only",
  },
  "retention-below-floor": {
    status: 422,
    title: "Proofs must be kept at least 1,096 days; only the operator can set less",
  },
  "suppression-not-liftable": { status: 422, title: "This suppression cannot be lifted" },
  "idempotency-key-reused": {
    status: 422,
    title: "This Idempotency-Key was used with a different request",
  },
  // docs/design.md §2 "When an event happened": evidence records what happened.
  "implausible-time": {
    status: 422,
    title:
      "A time in the request is more than 5 minutes ahead of the gateway's clock, or before 1990",
  },
  "evidence-predates-erasure": {
    status: 422,
    title: "Evidence dated before the subject's erasure is not accepted",
  },
  // Message compliance (docs/design.md §4): refused before anything is sent.
  "header-injection": {
    status: 422,
    title: "A header field contains a line break or another control character",
  },
  "reserved-header": { status: 422, title: "This header is set by the gateway" },
  "unverified-sender-domain": {
    status: 422,
    title: "The From domain is not one of the tenant's verified domains",
  },
  "sender-identity-missing": {
    status: 422,
    title: "The tenant's legal name, postal address or registration id is missing",
  },
  "unknown-template": { status: 422, title: "No such template" },
  "template-topic-mismatch": {
    status: 422,
    title: "This template cannot be sent for a topic of this class",
  },
  "invalid-template-data": {
    status: 422,
    title: "The template data is missing a value or has a value of the wrong kind",
  },
  "message-content-missing": {
    status: 422,
    title: "The message has no subject, or neither a template nor html or text",
  },
  // The signed SendGrid Event Webhook (POST /webhooks/sendgrid/{tenant}).
  "invalid-signature": {
    status: 401,
    title: "The webhook signature is missing or does not verify",
  },
  "stale-webhook": {
    status: 401,
    title: "The webhook timestamp is too far from the current time",
  },
  // Double opt-in (POST /v1/subscriptions): confirmation mails per address are limited.
  "subscription-throttled": {
    status: 429,
    title: "Too many confirmation requests for this address; try again later",
  },
  internal: { status: 500, title: "Something went wrong on our side" },
  // Storage that cannot take a write now (locked, read-only, full, failing): retry after Retry-After.
  "storage-unavailable": {
    status: 503,
    title: "Storage is unavailable for the moment; nothing was recorded, try again",
  },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof PROBLEMS;

/** A pointer to the part of the request that is wrong, and why (no values). */
export interface ProblemField {
  pointer: string;
  detail: string;
}

/** The one error path: services throw this; the HTTP adapter renders it. */
export class ProblemError extends Error {
  readonly problem: ProblemType;
  readonly detail: string | undefined;
  readonly errors: ProblemField[] | undefined;

  constructor(problem: ProblemType, options: { detail?: string; errors?: ProblemField[] } = {}) {
    super(options.detail ?? PROBLEMS[problem].title);
    this.name = "ProblemError";
    this.problem = problem;
    this.detail = options.detail;
    this.errors = options.errors;
  }

  get status(): number {
    return PROBLEMS[this.problem].status;
  }
}

/** The `type` URI of a problem, relative to the gateway (RFC 9457 §3.1.1). */
export function problemTypeUri(problem: ProblemType): string {
  return `/problems/${problem}`;
}
