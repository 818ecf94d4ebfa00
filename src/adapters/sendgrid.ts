import { Client } from "@sendgrid/client";
import { MailService } from "@sendgrid/mail";
import type {
  DeliveryOutcome,
  MailProvider,
  OutgoingMail,
  SendOptions,
} from "../services/delivery/provider.js";

/**
 * SendGrid through its own client, `@sendgrid/mail` (Node; on Workers the
 * same wire format goes out with `fetch`). One client per API key: a tenant
 * may carry its own key, and it must never ride on another's client.
 */
export interface SendGridOptions {
  apiKey: string;
  /** `https://api.sendgrid.com`, `https://api.eu.sendgrid.com`, or a test server. */
  apiUrl: string;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Waits between attempts; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** The longest wait between two attempts, whatever the provider asks. */
const MAX_DELAY_MS = 60_000;

interface SendGridFailure {
  code?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; body?: unknown };
}

export function createSendGridProvider(options: SendGridOptions): MailProvider {
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const services = new Map<string, MailService>();

  function serviceFor(apiKey: string): MailService {
    let service = services.get(apiKey);
    if (!service) {
      const client = new Client();
      // setApiKey() resets the base URL, so it goes first.
      client.setApiKey(apiKey);
      client.setDefaultRequest("baseUrl", options.apiUrl);
      service = new MailService();
      service.setClient(client);
      // Our substitution keys are complete (`%%grounds:…%%`): no wrapping.
      service.setSubstitutionWrappers("", "");
      services.set(apiKey, service);
    }
    return service;
  }

  return {
    name: "sendgrid",
    async send(mail: OutgoingMail, sendOptions: SendOptions = {}): Promise<DeliveryOutcome> {
      const service = serviceFor(sendOptions.apiKey ?? options.apiKey);
      const data = toHelperData(mail);
      for (let attempt = 1; ; attempt++) {
        try {
          const [response] = await service.send(data as never);
          const id = response.headers["x-message-id"];
          return { status: "accepted", providerMessageId: typeof id === "string" ? id : null };
        } catch (caught) {
          const failure = caught as SendGridFailure;
          const status = failure.code;
          // 429 and 5xx are the provider's "try again"; so is a network error
          // (no status). Any other 4xx is final: the same request would fail again.
          const retryable = status === undefined || status === 429 || status >= 500;
          if (!retryable || attempt >= maxAttempts) {
            return { status: "failed", error: summarise(failure) };
          }
          await sleep(delayFor(attempt, failure, baseDelayMs, random));
        }
      }
    },
  };
}

/**
 * Exponential backoff with full jitter, or what the provider asked for
 * (`Retry-After` seconds, or `X-RateLimit-Reset` as a Unix time), bounded.
 */
function delayFor(
  attempt: number,
  failure: SendGridFailure,
  baseDelayMs: number,
  random: () => number,
): number {
  const headers = failure.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter > 0)
    return Math.min(retryAfter * 1000, MAX_DELAY_MS);
  const reset = Number(headers["x-ratelimit-reset"]);
  if (Number.isFinite(reset) && reset > 0) {
    const wait = reset * 1000 - Date.now();
    if (wait > 0) return Math.min(wait, MAX_DELAY_MS);
  }
  return Math.min(Math.floor(random() * baseDelayMs * 2 ** (attempt - 1)), MAX_DELAY_MS);
}

const ADDRESS = /[^\s"'<>@]+@[^\s"'<>@]+/g;

/** The provider's complaint, without any address it may quote. */
function summarise(failure: SendGridFailure): string {
  const body = failure.response?.body as
    | { errors?: { message?: string; field?: string | null }[] }
    | undefined;
  const messages = (body?.errors ?? [])
    .map((e) => [e.field, e.message].filter(Boolean).join(": "))
    .filter((m) => m.length > 0);
  const text = messages.length > 0 ? messages.join("; ") : (failure.message ?? "no answer");
  return `${failure.code ?? "network"}: ${text}`.replace(ADDRESS, "(address)").slice(0, 500);
}

/** Our wire-format mail as the helper of `@sendgrid/mail` takes it (camelCase). */
function toHelperData(mail: OutgoingMail) {
  return {
    from: mail.from,
    ...(mail.reply_to ? { replyTo: mail.reply_to } : {}),
    subject: mail.subject,
    content: mail.content,
    personalizations: mail.personalizations.map((p) => ({
      to: p.to,
      ...(p.headers ? { headers: p.headers } : {}),
      ...(p.substitutions ? { substitutions: p.substitutions } : {}),
      ...(p.custom_args ? { customArgs: p.custom_args } : {}),
    })),
    ...(mail.headers ? { headers: mail.headers } : {}),
    ...(mail.categories ? { categories: mail.categories } : {}),
    ...(mail.custom_args ? { customArgs: mail.custom_args } : {}),
    ...(mail.send_at ? { sendAt: mail.send_at } : {}),
  };
}
