import { and, asc, eq, isNull } from "drizzle-orm";
import { dsrRequests } from "../../db/schema.js";
import { newId } from "../../domain/ids.js";
import type { Deps } from "../deps.js";

export type DsrKind = (typeof dsrRequests.$inferSelect)["kind"];

/**
 * The deadline of GDPR Art. 12(3): "without undue delay and in any event
 * within one month of receipt of the request". One calendar month later, on
 * the same day of the month, or the month's last day when it has none
 * (31 January → 28 or 29 February).
 */
export function oneMonthAfter(at: number): number {
  const date = new Date(at);
  const day = date.getUTCDate();
  const target = new Date(at);
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() + 1);
  const lastDay = new Date(
    Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0),
  ).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.getTime();
}

/** The row recording a data-subject request, received now (and answered now, when `completed`). */
export function dsrRequestRow(
  deps: Deps,
  tenantId: string,
  subjectKey: string,
  kind: DsrKind,
  completed: boolean,
): typeof dsrRequests.$inferInsert {
  const now = deps.clock();
  return {
    id: newId("dsr", now),
    tenantId,
    subjectKey,
    kind,
    receivedAt: now,
    deadline: oneMonthAfter(now),
    completedAt: completed ? now : null,
  };
}

export interface DsrRequestView {
  id: string;
  subject: string;
  kind: DsrKind;
  receivedAt: string;
  deadline: string;
  completedAt: string | null;
}

export function dsrView(row: typeof dsrRequests.$inferSelect): DsrRequestView {
  return {
    id: row.id,
    subject: row.subjectKey,
    kind: row.kind,
    receivedAt: new Date(row.receivedAt).toISOString(),
    deadline: new Date(row.deadline).toISOString(),
    completedAt: row.completedAt === null ? null : new Date(row.completedAt).toISOString(),
  };
}

/** A tenant's data-subject requests, oldest first; `open` only those not yet answered. */
export async function listDsrRequests(
  deps: Deps,
  tenantId: string,
  options: { open?: boolean; limit?: number } = {},
): Promise<DsrRequestView[]> {
  const rows = await deps.db
    .select()
    .from(dsrRequests)
    .where(
      and(
        eq(dsrRequests.tenantId, tenantId),
        options.open ? isNull(dsrRequests.completedAt) : undefined,
      ),
    )
    .orderBy(asc(dsrRequests.receivedAt))
    .limit(options.limit ?? 1000);
  return rows.map(dsrView);
}
