/**
 * The parts of talking to SendGrid that do not depend on the HTTP client: when to wait and how
 * long, and how to summarise a refusal without an address in it. Shared by the Node provider
 * (sendgrid.ts, `@sendgrid/mail`) and the Workers one (sendgrid-fetch.ts, plain `fetch`), so both
 * retry and report alike. Pure: no runtime imports.
 */
import type {
  DeliveryOutcome,
  OutgoingMail,
  Personalization,
} from "../services/delivery/provider.js";

/** What both SendGrid providers are configured with. */
export interface SendGridOptions {
  /** The gateway's key (`SENDGRID_API_KEY`); a tenant's own key, passed to `send`, wins. */
  apiKey?: string | undefined;
  /** `SENDGRID_API_URL`; default https://api.sendgrid.com. */
  apiUrl?: string | undefined;
  /**
   * Attempts per hand-over, the first included. Default 3: a longer outage is
   * the delivery queue's to wait out (hours, with backoff), not one call's.
   */
  maxAttempts?: number;
  /** The backoff base: attempt n waits up to `baseDelayMs · 2^(n-1)`. Default 500 ms. */
  baseDelayMs?: number;
  /** The longest single wait, also for a server's Retry-After. Default 30 s. */
  maxDelayMs?: number;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), for jitter. Default `Math.random`. */
  random?: () => number;
  /** For `X-RateLimit-Reset`, an absolute time. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_SENDGRID_API_URL = "https://api.sendgrid.com";

/** The options with their defaults filled in. */
export function withDefaults(options: SendGridOptions) {
  const policy: RetryPolicy = {
    maxAttempts: Math.max(1, Math.floor(options.maxAttempts ?? 3)),
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
  };
  return {
    apiUrl: (options.apiUrl ?? DEFAULT_SENDGRID_API_URL).replace(/\/+$/, ""),
    policy,
    timeoutMs: options.timeoutMs ?? 30_000,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
  };
}

export interface RetryPolicy {
  /** Attempts per chunk, the first included. */
  maxAttempts: number;
  /** The backoff base: attempt n waits up to `baseDelayMs · 2^(n-1)`. */
  baseDelayMs: number;
  /** The longest single wait, also for a server's Retry-After. */
  maxDelayMs: number;
}

/** What one attempt at `mail/send` came to. */
export type AttemptResult =
  | { kind: "accepted"; messageId: string | null }
  | { kind: "failed"; retryable: boolean; retryAfterMs: number | null; summary: string }
  /** The request may have reached SendGrid and its answer was lost: never retried here. */
  | { kind: "unknown"; summary: string };

/**
 * Network errors that prove the request never left: no connection was made (refused, no
 * route, no such host, a TLS handshake that failed before any byte of the request). Every
 * other network error — a timeout, a reset, a closed socket — may come after SendGrid read the
 * body, so its outcome is unknown (docs/design.md §7).
 */
const NOT_CONNECTED = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/** A network error by its code: retried when it proves nothing was sent, else unknown. */
export function networkFailure(code: string): AttemptResult {
  const summary = `network: ${code}`;
  return NOT_CONNECTED.has(code)
    ? { kind: "failed", retryable: true, retryAfterMs: null, summary }
    : { kind: "unknown", summary };
}

/**
 * Attempts a chunk until SendGrid accepts it, refuses it for good, the outcome cannot be known,
 * or the policy's attempts are spent, waiting `delayBefore` between attempts: the one retry loop
 * of both providers. A retryable failure after the last attempt says so: the delivery queue
 * tries again later.
 */
export async function sendWithRetries(
  { policy, sleep, random }: Pick<ReturnType<typeof withDefaults>, "policy" | "sleep" | "random">,
  attempt: () => Promise<AttemptResult>,
): Promise<DeliveryOutcome> {
  for (let attempts = 1; ; attempts++) {
    const result = await attempt();
    if (result.kind === "accepted") {
      return { status: "accepted", providerMessageId: result.messageId };
    }
    if (result.kind === "unknown") return { status: "unknown", error: result.summary };
    if (!result.retryable || attempts >= policy.maxAttempts) {
      const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
      return {
        status: "failed",
        error: `${result.summary}${tries}`,
        retryable: result.retryable,
        retryAfterMs: result.retryAfterMs,
      };
    }
    await sleep(delayBefore(policy, attempts, result.retryAfterMs, random));
  }
}

/** A chunk refused before any request: the same mail would be refused again. */
export function refused(error: string): DeliveryOutcome {
  return { status: "failed", error, retryable: false, retryAfterMs: null };
}

/** 429 is a rate limit and 5xx transient; every other 4xx would be refused again. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The wait before retry number `retry` (1 = the first retry): exponential with full jitter,
 * never shorter than the server's hint and never longer than `maxDelayMs`.
 */
export function delayBefore(
  policy: RetryPolicy,
  retry: number,
  hintMs: number | null,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = random() * ceiling;
  return Math.round(Math.min(policy.maxDelayMs, Math.max(hintMs ?? 0, jittered)));
}

/**
 * The server's hint, in ms from now: `Retry-After` (seconds or an HTTP date, RFC 9110 §10.2.3)
 * on 429 and 503, else on 429 SendGrid's `X-RateLimit-Reset` (a Unix timestamp in seconds).
 * `header` reads a response header by its lower-case name, whatever the client's header type.
 */
export function retryHint(
  status: number,
  header: (name: string) => string | null,
  now: () => number,
): number | null {
  const retryAfter = header("retry-after");
  if (retryAfter !== null && (status === 429 || status === 503)) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now());
  }
  const reset = header("x-ratelimit-reset");
  if (reset !== null && status === 429) {
    const at = Number(reset) * 1000;
    if (Number.isFinite(at)) return Math.max(0, at - now());
  }
  return null;
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * SendGrid's error body is `{"errors":[{"message","field","help"}]}`; gateways in front of it
 * answer HTML. The summary keeps the first few messages and their fields, with anything that
 * looks like an address removed: SendGrid quotes addresses in some messages (e.g. duplicates),
 * and this text ends up in proof records and logs.
 */
export function summariseBody(status: number, body: unknown): string {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
  }
  const errors =
    typeof parsed === "object" && parsed !== null && "errors" in parsed
      ? (parsed as { errors: unknown }).errors
      : undefined;
  const parts: string[] = [];
  if (Array.isArray(errors)) {
    for (const item of errors.slice(0, 3)) {
      if (typeof item !== "object" || item === null) continue;
      const { message, field } = item as { message?: unknown; field?: unknown };
      if (typeof message !== "string") continue;
      parts.push(typeof field === "string" && field ? `${message} (${field})` : message);
    }
    if (errors.length > 3) parts.push(`and ${errors.length - 3} more`);
  }
  if (parts.length === 0) return REASONS[status] ?? "error";
  return clean(parts.join("; "));
}

const ADDRESS = /[^\s<>()[\]{},;:"'`]+@[^\s<>()[\]{},;:"'`]+/g;

/** No addresses, one line, bounded. */
export function clean(text: string): string {
  const line = text.replace(ADDRESS, "<address>").replace(/\s+/g, " ").trim();
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}

/**
 * The fields of an `OutgoingMail`, every one named. The `rest` checks make a
 * new field in provider.ts a compile error here (and an unknown field at run
 * time a refusal) rather than a field silently dropped on the way to
 * SendGrid; both providers map from what this returns.
 */
export function mailFields(
  mail: OutgoingMail,
):
  | { error: string }
  | { fields: Omit<OutgoingMail, "personalizations">; personalizations: Personalization[] } {
  const {
    from,
    reply_to,
    subject,
    content,
    personalizations,
    headers,
    categories,
    custom_args,
    send_at,
    reply_to_list,
    attachments,
    batch_id,
    ip_pool_name,
    tracking_settings,
    ...rest
  } = mail;
  // Named only so that `rest` holds what is not: it must be empty.
  const unmapped: Record<string, never> = rest;
  const unknown = Object.keys(unmapped);
  if (unknown.length > 0) return { error: `unsupported mail field(s): ${unknown.join(", ")}` };
  const checked: Personalization[] = [];
  for (const p of personalizations) {
    const { to, headers: pHeaders, substitutions, custom_args: pArgs, ...pRest } = p;
    const pUnmapped: Record<string, never> = pRest;
    const pUnknown = Object.keys(pUnmapped);
    if (pUnknown.length > 0) {
      return { error: `unsupported personalization field(s): ${pUnknown.join(", ")}` };
    }
    checked.push({
      to,
      ...(pHeaders && { headers: pHeaders }),
      ...(substitutions && { substitutions }),
      ...(pArgs && { custom_args: pArgs }),
    });
  }
  return {
    fields: mail,
    personalizations: checked,
  };
}
