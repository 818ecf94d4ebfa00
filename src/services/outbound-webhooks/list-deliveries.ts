import { and, asc, desc, eq, inArray, lt, or } from "drizzle-orm";
import { webhookAttempts, webhookDeliveries, webhookMessages } from "../../db/schema.js";
import type { Deps } from "../deps.js";

type DeliveryStatus = (typeof webhookDeliveries.$inferSelect)["status"];

/** A delivery as `GET /v1/webhooks/deliveries` shows it: no address, no body. */
export interface DeliveryView {
  id: string;
  /** The `webhook-id` the endpoint receives. */
  messageId: string;
  type: string;
  url: string;
  status: DeliveryStatus;
  createdAt: string;
  nextAttemptAt: string | null;
  attempts: { at: string; statusCode: number | null; error: string | null; durationMs: number }[];
}

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

/**
 * A tenant's webhook deliveries, newest first, each with every attempt:
 * `limit + 1` after `after` (`[createdAt, id]`), optionally of one status.
 */
export async function listDeliveries(
  deps: Deps,
  tenantId: string,
  page: {
    limit: number;
    after?: readonly [number, string] | undefined;
    status?: DeliveryStatus | undefined;
  },
): Promise<DeliveryView[]> {
  const after = page.after;
  const rows = await deps.db
    .select({ delivery: webhookDeliveries, type: webhookMessages.type })
    .from(webhookDeliveries)
    .innerJoin(webhookMessages, eq(webhookMessages.id, webhookDeliveries.messageId))
    .where(
      and(
        eq(webhookDeliveries.tenantId, tenantId),
        page.status ? eq(webhookDeliveries.status, page.status) : undefined,
        after
          ? or(
              lt(webhookDeliveries.createdAt, after[0]),
              and(eq(webhookDeliveries.createdAt, after[0]), lt(webhookDeliveries.id, after[1])),
            )
          : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(page.limit + 1);
  const ids = rows.map((r) => r.delivery.id);
  const attempts =
    ids.length === 0
      ? []
      : await deps.db
          .select()
          .from(webhookAttempts)
          .where(inArray(webhookAttempts.deliveryId, ids))
          .orderBy(asc(webhookAttempts.attempt));
  return rows.map(({ delivery, type }) => ({
    id: delivery.id,
    messageId: delivery.messageId,
    type,
    url: delivery.url,
    status: delivery.status,
    createdAt: iso(delivery.createdAt) ?? "",
    nextAttemptAt: iso(delivery.nextAttemptAt),
    attempts: attempts
      .filter((a) => a.deliveryId === delivery.id)
      .map((a) => ({
        at: iso(a.at) ?? "",
        statusCode: a.statusCode,
        error: a.error,
        durationMs: a.durationMs,
      })),
  }));
}
