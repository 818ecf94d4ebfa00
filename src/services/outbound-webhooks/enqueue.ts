import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { newId } from "../../domain/ids.js";
import { webhookEventOf, webhookPayload } from "../../domain/outbound-webhooks.js";
import type { Deps } from "../deps.js";

/** An evidence event as it is appended (append-evidence.ts). */
interface AppendedEvent {
  id: string;
  subjectKey: string;
  kind: string;
  topic?: string | null | undefined;
  occurredAt: number;
  data: Record<string, unknown>;
}

/**
 * The statements that queue the outbound webhooks of newly appended
 * evidence, for the SAME batch as the evidence (docs/design.md §5): the stop is
 * durable first and its webhook with it, or neither. They read the
 * tenant's endpoints inside the batch (INSERT … SELECT over
 * `tenant_settings.webhooks`), so queueing costs the stop no extra round
 * trip, and a tenant without webhooks gets no row. The address is taken from
 * the subject's row (written earlier in the batch) or, for an erasure, as
 * given (`erasedAddress`: the batch removes it from the subject's row).
 *
 * An erasure also removes the address from every earlier message of the
 * subject and cancels their pending deliveries: the erasure event that
 * follows tells the tenant's tools all they may still learn (GDPR Art. 17,
 * 19), and nothing else keeps the address (docs/outbound-webhooks.md).
 */
export function webhookStatements(
  deps: Deps,
  tenantId: string,
  events: readonly AppendedEvent[],
  options: { erasedAddress?: string | undefined } = {},
): BatchItem<"sqlite">[] {
  const now = deps.clock();
  const messages = [];
  for (const event of events) {
    const type = webhookEventOf(event.kind);
    if (!type) continue;
    messages.push({
      id: newId("msg", now),
      type,
      subjectKey: event.subjectKey,
      email: type === "erasure" ? (options.erasedAddress ?? null) : null,
      payload: JSON.stringify(
        webhookPayload(type, { ...event, topic: event.topic ?? null }, tenantId, now),
      ),
    });
  }
  if (messages.length === 0) return [];
  const json = JSON.stringify(messages);
  const statements: BatchItem<"sqlite">[] = [];
  const erased = messages.filter((m) => m.type === "erasure").map((m) => m.subjectKey);
  if (erased.length > 0) {
    const keys = JSON.stringify(erased);
    statements.push(
      deps.db.run(sql`UPDATE webhook_deliveries SET status = 'cancelled',
          last_error = 'the subject was erased', next_attempt_at = NULL, updated_at = ${now}
        WHERE status = 'pending' AND message_id IN (SELECT id FROM webhook_messages
          WHERE tenant_id = ${tenantId} AND subject_key IN (SELECT value FROM json_each(${keys})))`),
      deps.db.run(sql`UPDATE webhook_messages SET email = NULL
        WHERE tenant_id = ${tenantId} AND subject_key IN (SELECT value FROM json_each(${keys}))`),
    );
  }
  statements.push(
    deps.db.run(sql`INSERT INTO webhook_messages
        (id, tenant_id, type, subject_key, email, payload, created_at)
      SELECT m.value ->> 'id', ${tenantId}, m.value ->> 'type', m.value ->> 'subjectKey',
        coalesce(m.value ->> 'email', (SELECT s.email FROM subjects AS s
          WHERE s.tenant_id = ${tenantId} AND s.subject_key = m.value ->> 'subjectKey')),
        m.value ->> 'payload', ${now}
      FROM json_each(${json}) AS m
      WHERE EXISTS (SELECT 1 FROM tenant_settings AS t, json_each(t.webhooks) AS w,
          json_each(w.value -> 'events') AS e
        WHERE t.tenant_id = ${tenantId} AND e.value = m.value ->> 'type')`),
    deps.db.run(sql`INSERT INTO webhook_deliveries
        (id, message_id, tenant_id, url, status, attempts, next_attempt_at, created_at, updated_at)
      SELECT 'whd_' || substr(m.value ->> 'id', 5) || '_' || w.key, m.value ->> 'id', ${tenantId},
        w.value ->> 'url', 'pending', 0, ${now}, ${now}, ${now}
      FROM json_each(${json}) AS m, tenant_settings AS t, json_each(t.webhooks) AS w
      WHERE t.tenant_id = ${tenantId} AND EXISTS (SELECT 1 FROM json_each(w.value -> 'events') AS e
        WHERE e.value = m.value ->> 'type')`),
  );
  return statements;
}

/** Whether any of these evidence kinds is told by a webhook (the runner is then woken). */
export function anyWebhookEvent(events: readonly { kind: string }[]): boolean {
  return events.some((event) => webhookEventOf(event.kind) !== null);
}
