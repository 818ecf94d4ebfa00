import { and, asc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { Webhook } from "standardwebhooks";
import {
  tenantSettings,
  webhookAttempts,
  webhookDeliveries,
  webhookMessages,
} from "../../db/schema.js";
import { retryAfter, webhookBody } from "../../domain/outbound-webhooks.js";
import type { Deps } from "../deps.js";
import { webhookSecret } from "./secret.js";

/** Deliveries taken per round. */
const BATCH = 50;
/** How long a runner holds a delivery it took: longer than an attempt can last. */
const LEASE_MS = 60_000;
/** An endpoint that has not answered by then has failed this attempt. */
const TIMEOUT_MS = 10_000;

type Delivery = typeof webhookDeliveries.$inferSelect;

/**
 * Delivers the outbound webhooks that are due (docs/design.md §5), from the durable
 * queue in `webhook_deliveries`: each is taken under a lease (so two runners
 * — two processes, a cron and a request's `waitUntil` — never send one at
 * the same time), signed as Standard Webhooks says with the tenant's
 * `whsec_` secret, and POSTed. A 2xx answer delivers it; anything else
 * (another status, a redirect, a timeout, a network error) is an attempt
 * that failed, retried on the schedule of `retryAfter` for 27.5 hours, then
 * `failed`. Every attempt is recorded (`webhook_attempts`), with what the
 * endpoint answered but never its body. Answers how many were delivered.
 *
 * At least once, as every webhook is: a crash after the POST and before the
 * record sends it again, with the same `webhook-id`, which receivers use
 * to drop duplicates.
 */
export async function runWebhookDeliveries(
  deps: Deps,
  options: { fetch?: typeof fetch } = {},
): Promise<number> {
  const send = options.fetch ?? fetch;
  let delivered = 0;
  for (;;) {
    const now = deps.clock();
    const due = await deps.db
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.status, "pending"),
          lte(webhookDeliveries.nextAttemptAt, now),
          or(isNull(webhookDeliveries.leaseUntil), lte(webhookDeliveries.leaseUntil, now)),
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt))
      .limit(BATCH);
    if (due.length === 0) return delivered;
    const taken = await take(deps, due, now);
    if (taken.length === 0) return delivered;
    const results = await Promise.all(taken.map((delivery) => attempt(deps, delivery, send)));
    delivered += results.filter(Boolean).length;
  }
}

/** Takes the deliveries no other runner holds: one conditional UPDATE. */
async function take(deps: Deps, due: readonly Delivery[], now: number): Promise<Delivery[]> {
  const ids = due.map((d) => d.id);
  const taken = await deps.db
    .update(webhookDeliveries)
    .set({ leaseUntil: now + LEASE_MS })
    .where(
      and(
        inArray(webhookDeliveries.id, ids),
        eq(webhookDeliveries.status, "pending"),
        or(isNull(webhookDeliveries.leaseUntil), lte(webhookDeliveries.leaseUntil, now)),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  const mine = new Set(taken.map((t) => t.id));
  return due.filter((d) => mine.has(d.id));
}

async function attempt(deps: Deps, delivery: Delivery, send: typeof fetch): Promise<boolean> {
  const started = deps.clock();
  const [message] = await deps.db
    .select()
    .from(webhookMessages)
    .where(eq(webhookMessages.id, delivery.messageId));
  const [settings] = await deps.db
    .select({ webhooks: tenantSettings.webhooks })
    .from(tenantSettings)
    .where(eq(tenantSettings.tenantId, delivery.tenantId));
  const secret = await webhookSecret(deps, delivery.tenantId);
  if (!message || !secret || !settings?.webhooks.some((w) => w.url === delivery.url)) {
    // The endpoint was removed from the settings since: nothing goes there any more.
    await finish(deps, delivery, {
      status: "cancelled",
      error: "the endpoint is no longer in the settings",
    });
    return false;
  }
  const body = webhookBody(message.payload, message.email);
  const headers = new Webhook(secret).sign(message.id, new Date(started), body);
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    const response = await send(delivery.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Grounds-Webhooks/1",
        "webhook-id": message.id,
        "webhook-timestamp": String(Math.floor(started / 1000)),
        "webhook-signature": headers,
      },
      body,
      // A redirect is not followed: the signed body goes only where the tenant said.
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    statusCode = response.status;
    // The body is not read (nor kept): it could hold anything.
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) error = `HTTP ${response.status}`;
  } catch (cause) {
    error =
      cause instanceof Error && cause.name === "TimeoutError"
        ? "no answer within 10 s"
        : "the endpoint could not be reached";
  }
  const record = deps.db.insert(webhookAttempts).values({
    deliveryId: delivery.id,
    attempt: delivery.attempts + 1,
    at: started,
    statusCode,
    error,
    durationMs: Math.max(0, deps.clock() - started),
  });
  if (error === null) {
    await finish(deps, delivery, { status: "delivered", statusCode, record });
    return true;
  }
  const wait = retryAfter(delivery.attempts + 1);
  if (wait === null) {
    await finish(deps, delivery, { status: "failed", statusCode, error, record });
  } else {
    const now = deps.clock();
    await deps.db.batch([
      record,
      deps.db
        .update(webhookDeliveries)
        .set({
          attempts: delivery.attempts + 1,
          nextAttemptAt: now + wait,
          leaseUntil: null,
          lastStatusCode: statusCode,
          lastError: error,
          updatedAt: now,
        })
        .where(eq(webhookDeliveries.id, delivery.id)),
    ]);
  }
  return false;
}

/**
 * Ends a delivery. Once no delivery of its message is pending, the message's
 * address goes: it was kept only to be sent (docs/design.md §5: no more personal
 * data than the address, and not for longer than needed).
 */
async function finish(
  deps: Deps,
  delivery: Delivery,
  end: {
    status: "delivered" | "failed" | "cancelled";
    statusCode?: number | null;
    error?: string | null;
    /** The attempt that ended it, recorded in the same batch. */
    record?: BatchItem<"sqlite">;
  },
): Promise<void> {
  const now = deps.clock();
  const update = deps.db
    .update(webhookDeliveries)
    .set({
      status: end.status,
      attempts: end.record ? delivery.attempts + 1 : delivery.attempts,
      nextAttemptAt: null,
      leaseUntil: null,
      ...(end.statusCode !== undefined ? { lastStatusCode: end.statusCode } : {}),
      lastError: end.error ?? null,
      updatedAt: now,
    })
    .where(eq(webhookDeliveries.id, delivery.id));
  const forget = deps.db.run(sql`UPDATE webhook_messages SET email = NULL
    WHERE id = ${delivery.messageId} AND NOT EXISTS (SELECT 1 FROM webhook_deliveries
      WHERE message_id = ${delivery.messageId} AND status = 'pending')`);
  await deps.db.batch([update, forget, ...(end.record ? [end.record] : [])]);
}
