/**
 * The provider boundary. An outgoing mail is shaped as SendGrid's v3
 * `mail/send` body (snake_case, as on the wire), because that is the provider
 * Grounds speaks; the local outbox takes the same shape, so both are
 * interchangeable behind `MailProvider`.
 */

export interface MailAddress {
  email: string;
  name?: string;
}

export interface Personalization {
  to: MailAddress[];
  /** Per-recipient headers: List-Unsubscribe with the recipient's own token. */
  headers?: Record<string, string>;
  /**
   * Per-recipient values (unsubscribe link, the "why you receive this"
   * sentence, the recipient's own data): each key is replaced in the content
   * by its value, as SendGrid's `substitutions` do.
   */
  substitutions?: Record<string, string>;
  /** The justification id; never personal data. */
  custom_args?: Record<string, string>;
}

/**
 * A file sent with the mail, as SendGrid's v3 `attachments[]` takes it: the
 * content in base64 (RFC 4648 §4), `inline` ones referenced from the HTML by
 * `cid:<content_id>` (RFC 2392).
 */
export interface MailAttachment {
  content: string;
  filename: string;
  type?: string;
  disposition?: "attachment" | "inline";
  content_id?: string;
}

/**
 * SendGrid's v3 `tracking_settings`, passed through as given (the v3 drop-in
 * checks their shape, and refuses `subscription_tracking`: the unsubscribe
 * link is the gateway's own).
 */
export type TrackingSettings = Record<string, Record<string, string | boolean>>;

export interface OutgoingMail {
  from: MailAddress;
  reply_to?: MailAddress;
  reply_to_list?: MailAddress[];
  subject: string;
  /** text/plain first, then text/html (SendGrid's required order). */
  content: { type: "text/plain" | "text/html"; value: string }[];
  personalizations: Personalization[];
  headers?: Record<string, string>;
  categories?: string[];
  custom_args?: Record<string, string>;
  send_at?: number;
  attachments?: MailAttachment[];
  /** A batch created at SendGrid (`POST /v3/mail/batch`) the mail belongs to. */
  batch_id?: string;
  ip_pool_name?: string;
  tracking_settings?: TrackingSettings;
}

/**
 * What came of handing one chunk (one `mail/send` call) to the provider:
 * - `accepted`: the provider answered that it took the mail;
 * - `failed`: it provably did not take it — it answered a refusal, or the
 *   connection was never made. `retryable` when trying later may succeed
 *   (429, 5xx, no connection), with the provider's hint of when;
 * - `unknown`: the request may have reached the provider and the answer was
 *   lost (timeout, reset, any error after the body was sent). It must never be
 *   sent again blindly: the provider's events say whether it was taken.
 */
export type DeliveryOutcome =
  | { status: "accepted"; providerMessageId: string | null }
  | { status: "failed"; error: string; retryable: boolean; retryAfterMs: number | null }
  | { status: "unknown"; error: string };

export interface SendOptions {
  /** The tenant's own provider key, when it has one. */
  apiKey?: string;
  /** Whose mail it is (the outbox files it under the tenant). */
  tenantId?: string;
}

export interface MailProvider {
  readonly name: "sendgrid" | "outbox";
  /**
   * Hands one chunk (at most 1,000 personalizations) to the provider,
   * retrying what the provider says is worth retrying. Never throws for a
   * provider refusal: the outcome says it.
   */
  send(mail: OutgoingMail, options?: SendOptions): Promise<DeliveryOutcome>;
}

/** SendGrid's documented limit of personalizations per request. */
export const MAX_PERSONALIZATIONS = 1000;
