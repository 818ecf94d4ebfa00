/**
 * The SendGrid provider: hands one chunk (an `OutgoingMail`, at most 1,000 personalizations) to
 * SendGrid's v3 `mail/send` through the official `@sendgrid/mail` client, retrying what SendGrid
 * says is transient, and reports the outcome without ever throwing for a refusal.
 *
 * Three things the official client does that we must undo or guard against:
 *
 * 1. Shared state. `@sendgrid/mail`'s default export is a process-wide singleton whose API key is
 *    global; a tenant's own key set there would leak into another tenant's concurrent request.
 *    Every API key gets its own `MailService` with its own `Client` instead.
 * 2. `setApiKey()` resets the base URL to api.sendgrid.com, so the base URL is set after the key
 *    (EU accounts use https://api.eu.sendgrid.com; tests use a local server).
 * 3. The `Mail` helper converts camelCase to snake_case and wraps every substitution key in
 *    `{{ }}` by default. Our keys are already the literal tags in the content, so the wrappers
 *    are set to empty strings; custom_args, header and substitution keys are in the helper's
 *    "do not convert" list and go out verbatim (checked by test/sendgrid/adapter.test.ts).
 *    The helper does drop empty objects (`headers: {}`, `custom_args: {}` — which SendGrid would
 *    refuse anyway), empty-string categories and empty names; nothing else is lost.
 *
 * Retries follow SendGrid's guidance: 429 is a rate limit with `X-RateLimit-Reset` (a Unix
 * timestamp) [rate limits: https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits];
 * 5xx and network failures are transient. Every other 4xx is final: the same body would be
 * refused again. Waits are exponential with full jitter, never shorter than the server's hint
 * and never longer than `maxDelayMs`.
 */
import { Client } from "@sendgrid/client";
import { type MailDataRequired, MailService } from "@sendgrid/mail";
import type {
  DeliveryOutcome,
  MailAttachment,
  MailProvider,
  OutgoingMail,
  SendOptions,
} from "../services/delivery/provider.js";
import {
  type AttemptResult,
  clean,
  isRetryableStatus,
  mailFields,
  networkFailure,
  refused,
  retryHint,
  type SendGridOptions,
  sendWithRetries,
  summariseBody,
  withDefaults,
} from "./sendgrid-retry.js";

export type SendGridProviderOptions = SendGridOptions;

/** How many per-key clients are kept; a key beyond that gets its client rebuilt (cheap). */
const CLIENT_CACHE_SIZE = 64;

export function createSendGridProvider(options: SendGridProviderOptions = {}): MailProvider {
  const retry = withDefaults(options);
  const { apiUrl, timeoutMs, now } = retry;

  const services = new Map<string, MailService>();
  const serviceFor = (apiKey: string): MailService => {
    const cached = services.get(apiKey);
    if (cached) return cached;
    const client = new Client();
    client.setApiKey(apiKey); // resets baseUrl, so the URL comes after the key
    client.setDefaultRequest("baseUrl", apiUrl);
    const service = new MailService();
    service.setClient(client);
    service.setTimeout(timeoutMs);
    service.setSubstitutionWrappers("", "");
    if (services.size >= CLIENT_CACHE_SIZE) {
      const oldest = services.keys().next();
      if (!oldest.done) services.delete(oldest.value);
    }
    services.set(apiKey, service);
    return service;
  };

  return {
    name: "sendgrid",
    async send(mail: OutgoingMail, sendOptions: SendOptions = {}): Promise<DeliveryOutcome> {
      // The tenant's own key when it has one, else the installation's ("" counts as none).
      const apiKey = sendOptions.apiKey || options.apiKey;
      if (!apiKey) return refused("no SendGrid API key configured");
      const service = serviceFor(apiKey);
      const checked = toMailData(mail);
      if ("error" in checked) return refused(`refused before sending: ${checked.error}`);
      // A fresh copy per attempt: the client writes its own flags into the object it is given.
      return sendWithRetries(retry, () => attemptSend(service, structuredClone(checked.data), now));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// OutgoingMail → the helper's MailData, field by field

type MailContent = { type: string; value: string };
type PersonalizationData = NonNullable<MailDataRequired["personalizations"]>[number];

/** Maps every field of `OutgoingMail` (checked by `mailFields`) to the helper's names. */
function toMailData(mail: OutgoingMail): { data: MailDataRequired } | { error: string } {
  const checked = mailFields(mail);
  if ("error" in checked) return checked;
  const {
    from,
    reply_to,
    reply_to_list,
    subject,
    content,
    headers,
    categories,
    custom_args,
    send_at,
    attachments,
    batch_id,
    ip_pool_name,
    tracking_settings,
  } = checked.fields;
  const [first, ...others] = content;
  if (!first) return { error: "mail has no content" };
  const mapped = checked.personalizations.map(
    (p): PersonalizationData => ({
      to: p.to,
      ...(p.headers && { headers: p.headers }),
      ...(p.substitutions && { substitutions: p.substitutions }),
      ...(p.custom_args && { customArgs: p.custom_args }),
    }),
  );

  const blocks: [MailContent, ...MailContent[]] = [first, ...others];
  const data: MailDataRequired = {
    from,
    subject,
    content: blocks,
    personalizations: mapped,
    // Keys are the literal tags already present in the content: no `{{ }}` around them.
    substitutionWrappers: ["", ""],
    ...(reply_to && { replyTo: reply_to }),
    ...(headers && { headers }),
    ...(categories && { categories }),
    ...(custom_args && { customArgs: custom_args }),
    ...(send_at !== undefined && { sendAt: send_at }),
    ...(reply_to_list && { replyToList: reply_to_list }),
    // As on the wire (`content_id`): the helper leaves the objects of an array as they are,
    // and a `contentId` would reach SendGrid unconverted.
    ...(attachments && { attachments: attachments.map(wireAttachment) }),
    ...(batch_id !== undefined && { batchId: batch_id }),
    ...(ip_pool_name !== undefined && { ipPoolName: ip_pool_name }),
    // The helper converts these keys to camelCase on the way in and back on the way out.
    ...(tracking_settings && { trackingSettings: tracking_settings }),
  };
  return { data };
}

/** An attachment in SendGrid's wire form; a plain copy, which survives `structuredClone`. */
function wireAttachment(a: MailAttachment): MailAttachment {
  return { ...a };
}

// ---------------------------------------------------------------------------------------------
// One attempt, classified

async function attemptSend(
  service: MailService,
  data: MailDataRequired,
  now: () => number,
): Promise<AttemptResult> {
  try {
    const [response] = await service.send(data);
    return { kind: "accepted", messageId: header(response.headers, "x-message-id") };
  } catch (error) {
    return classify(error, now);
  }
}

function classify(error: unknown, now: () => number): AttemptResult {
  const e = (typeof error === "object" && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    response?: { headers?: unknown; body?: unknown };
  };
  // A ResponseError from @sendgrid/client: `code` is the HTTP status (>= 400).
  if (typeof e.code === "number" && e.response) {
    const status = e.code;
    const retryable = isRetryableStatus(status);
    const headers = e.response.headers;
    return {
      kind: "failed",
      retryable,
      retryAfterMs: retryable ? retryHint(status, (name) => header(headers, name), now) : null,
      summary: `${status}: ${summariseBody(status, e.response.body)}`,
    };
  }
  // A network error (axios: ECONNREFUSED, ECONNRESET, ECONNABORTED for a timeout, ...): retried
  // only when it proves nothing was sent. Only the code is reported: axios messages and configs
  // carry the URL and the Authorization header.
  if (typeof e.code === "string" && /^[A-Z0-9_]+$/.test(e.code)) return networkFailure(e.code);
  // The Mail helper refused the data before sending (a plain Error with a short message).
  const message = typeof e.message === "string" ? e.message : String(error);
  return {
    kind: "failed",
    retryable: false,
    retryAfterMs: null,
    summary: `refused by the SendGrid client: ${clean(message)}`,
  };
}

/** Reads a header from axios' headers (AxiosHeaders or a plain object), case-insensitively. */
function header(headers: unknown, name: string): string | null {
  if (typeof headers !== "object" || headers === null) return null;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (typeof value === "string") return value;
    if (typeof value === "number") return String(value);
    if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  }
  return null;
}
