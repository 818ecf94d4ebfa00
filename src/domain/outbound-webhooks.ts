/**
 * Outbound webhooks (docs/design.md §5): what the tenant's own tools (its CRM) are
 * told of what recipients did through Grounds, signed as the Standard
 * Webhooks specification describes. Pure: no I/O.
 */

/** The event types, as `settings.webhooks[].events` names them. */
export const WEBHOOK_EVENTS = [
  "objection",
  "consent.withdrawn",
  "consent.confirmed",
  "suppression",
  "erasure",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The evidence kinds that are told, and as which event. */
const EVENT_OF_KIND: Readonly<Record<string, WebhookEvent>> = {
  objection: "objection",
  "consent-withdrawn": "consent.withdrawn",
  "consent-confirmed": "consent.confirmed",
  suppression: "suppression",
  erasure: "erasure",
};

export function webhookEventOf(kind: string): WebhookEvent | null {
  return EVENT_OF_KIND[kind] ?? null;
}

/**
 * The fields of an evidence event's `data` a webhook may carry: how it came
 * (channel, method) and why (reason). Nothing personal: the only personal
 * datum of a webhook is the address (docs/design.md §5), added when it is sent.
 */
const CARRIED = ["channel", "method", "reason"] as const;

/** The JSON a message carries, but for the address (Standard Webhooks: `type`, `timestamp`, `data`). */
export function webhookPayload(
  type: WebhookEvent,
  event: {
    id: string;
    topic: string | null;
    occurredAt: number;
    data: Readonly<Record<string, unknown>>;
  },
  tenantId: string,
  now: number,
): Record<string, unknown> {
  const data: Record<string, unknown> = {
    tenant: tenantId,
    evidenceId: event.id,
    occurredAt: new Date(event.occurredAt).toISOString(),
  };
  if (event.topic !== null) data.topic = event.topic;
  for (const field of CARRIED) {
    const value = event.data[field];
    if (typeof value === "string") data[field] = value;
  }
  return { type, timestamp: new Date(now).toISOString(), data };
}

/** The body sent: the payload with the address (null once it is gone). */
export function webhookBody(payload: Record<string, unknown>, email: string | null): string {
  const data = (payload.data ?? {}) as Record<string, unknown>;
  return JSON.stringify({ ...payload, data: { email, ...data } });
}

/**
 * When to try again after the n-th failed attempt (1-based), in ms: the
 * schedule Standard Webhooks' reference service uses (immediately, 5 s,
 * 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) — retries for 27.5 hours, more than
 * the day docs/design.md §5 asks. Null: no attempt is left.
 */
const RETRY_AFTER_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export function retryAfter(failedAttempts: number): number | null {
  return RETRY_AFTER_MS[failedAttempts - 1] ?? null;
}

/** Whether an endpoint URL may be used: https, or http on a loopback host (a local tool, tests). */
export function isWebhookUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}
