import { and, count, inArray, lte } from "drizzle-orm";
import { deliveryChunks } from "../../src/db/schema.js";
import { databaseOf } from "./database.js";
import type { GatewayUnderTest } from "./gateway-under-test.js";

/**
 * Waits until the gateway's delivery queue (docs/design.md §7: delivery never runs inside the request)
 * has handed over every chunk that is due: on Node the worker over the database, whose passes
 * are the gateway's background tasks; in workerd the Worker's queue consumer, watched through
 * the database file. A chunk waiting out an outage (due later) does not count.
 */
export async function deliveriesDone(
  gateway: GatewayUnderTest & { idle?: () => Promise<void> },
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const db = databaseOf(gateway);
  for (;;) {
    await gateway.idle?.();
    const [due] = await db
      .select({ chunks: count() })
      .from(deliveryChunks)
      .where(
        and(
          inArray(deliveryChunks.status, ["queued", "handing"]),
          lte(deliveryChunks.nextAttemptAt, gateway.clock()),
        ),
      );
    if ((due?.chunks ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`${due?.chunks} chunks still due`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
