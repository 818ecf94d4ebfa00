/**
 * The SendGrid provider for Cloudflare Workers: POSTs the `OutgoingMail` — already SendGrid's
 * v3 `mail/send` body — to `${apiUrl}/v3/mail/send` with the runtime's own `fetch`. The official
 * `@sendgrid/mail` client (sendgrid.ts, used on Node) rests on axios and Node's http, which the
 * Worker bundle must not carry; the wire body is the same, so nothing is gained by it here.
 *
 * The retry policy and error summaries are sendgrid.ts's own (sendgrid-retry.ts): 429, 5xx and
 * network failures retried with exponential backoff and full jitter, honouring Retry-After and
 * X-RateLimit-Reset; every other 4xx final; no address in an error.
 */
import type {
  DeliveryOutcome,
  MailAddress,
  MailProvider,
  OutgoingMail,
  Personalization,
  SendOptions,
} from "../services/delivery/provider.js";
import {
  type AttemptResult,
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

export interface FetchSendGridProviderOptions extends SendGridOptions {
  /** The `fetch` to use. Default the global one. */
  fetch?: typeof fetch;
}

export function createFetchSendGridProvider(
  options: FetchSendGridProviderOptions = {},
): MailProvider {
  const retry = withDefaults(options);
  const { apiUrl, timeoutMs, now } = retry;
  const endpoint = `${apiUrl}/v3/mail/send`;
  // Looked up per call, not captured: tests and Workers may replace the global.
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));

  return {
    name: "sendgrid",
    async send(mail: OutgoingMail, sendOptions: SendOptions = {}): Promise<DeliveryOutcome> {
      // The tenant's own key when it has one, else the installation's ("" counts as none).
      const apiKey = sendOptions.apiKey || options.apiKey;
      if (!apiKey) return refused("no SendGrid API key configured");
      const built = toWireBody(mail);
      if ("error" in built) return refused(`refused before sending: ${built.error}`);
      const body = JSON.stringify(built.body);
      return sendWithRetries(retry, () =>
        attemptSend(doFetch, endpoint, apiKey, body, timeoutMs, now),
      );
    },
  };
}

/**
 * The body as the official client would send it: it drops empty objects (`headers: {}`,
 * `custom_args: {}`, which SendGrid refuses), empty-string categories and empty names. Every
 * field is checked by `mailFields` (sendgrid-retry.ts), as in sendgrid.ts.
 */
function toWireBody(mail: OutgoingMail): { body: OutgoingMail } | { error: string } {
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
  if (content.length === 0) return { error: "mail has no content" };

  const mapped = checked.personalizations.map((p): Personalization => {
    const h = nonEmpty(p.headers);
    const subs = nonEmpty(p.substitutions);
    const args = nonEmpty(p.custom_args);
    return {
      to: p.to.map(address),
      ...(h && { headers: h }),
      ...(subs && { substitutions: subs }),
      ...(args && { custom_args: args }),
    };
  });
  const h = nonEmpty(headers);
  const args = nonEmpty(custom_args);
  const cats = categories?.filter((c) => c !== "");
  const body: OutgoingMail = {
    from: address(from),
    subject,
    content,
    personalizations: mapped,
    ...(reply_to && { reply_to: address(reply_to) }),
    ...(h && { headers: h }),
    ...(cats && cats.length > 0 && { categories: cats }),
    ...(args && { custom_args: args }),
    ...(send_at !== undefined && { send_at }),
    ...(reply_to_list && reply_to_list.length > 0 && { reply_to_list: reply_to_list.map(address) }),
    ...(attachments && attachments.length > 0 && { attachments }),
    ...(batch_id !== undefined && { batch_id }),
    ...(ip_pool_name !== undefined && { ip_pool_name }),
    ...(nonEmpty(tracking_settings) && { tracking_settings }),
  };
  return { body };
}

function address(a: MailAddress): MailAddress {
  return a.name ? { email: a.email, name: a.name } : { email: a.email };
}

function nonEmpty<T extends object>(o: T | undefined): T | undefined {
  return o && Object.keys(o).length > 0 ? o : undefined;
}

async function attemptSend(
  doFetch: typeof fetch,
  endpoint: string,
  apiKey: string,
  body: string,
  timeoutMs: number,
  now: () => number,
): Promise<AttemptResult> {
  let response: Response;
  try {
    response = await doFetch(endpoint, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return networkFailure(networkCode(error));
  }
  if (response.ok) {
    await response.body?.cancel();
    return { kind: "accepted", messageId: response.headers.get("x-message-id") };
  }
  const status = response.status;
  let text = "";
  try {
    text = await response.text();
  } catch {
    // The body was cut off: the status alone says what happened.
  }
  const retryable = isRetryableStatus(status);
  return {
    kind: "failed",
    retryable,
    retryAfterMs: retryable ? retryHint(status, (name) => response.headers.get(name), now) : null,
    summary: `${status}: ${summariseBody(status, text)}`,
  };
}

/**
 * A failed fetch, by its code where the runtime gives one (Node's undici: `cause.code`, e.g.
 * ECONNREFUSED, as sendgrid.ts reports it), else by the error's name (workerd gives none; a
 * timeout is a TimeoutError) — which `networkFailure` treats as an unknown outcome, since it
 * cannot prove the request never left. Never the message: it may carry the URL.
 */
function networkCode(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = cause && typeof cause === "object" ? cause.code : undefined;
  if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
  const name = error instanceof Error ? error.name : "Error";
  return /^[A-Za-z]+$/.test(name) ? name : "Error";
}
