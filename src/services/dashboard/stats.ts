import { sql } from "drizzle-orm";
import { evidence, justifications } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import { type DsrRequestView, listDsrRequests } from "../subjects/dsr-requests.js";

const DAY = 86_400_000;

export interface DayCount {
  day: string;
  /** e.g. `sent`, or a suppression reason; `objection`, `spam-complaint`. */
  series: string;
  count: number;
}

export interface DashboardStats {
  days: string[];
  decisions: DayCount[];
  complaints: DayCount[];
  /**
   * Spam complaints per message sent, per day: mailbox providers (Gmail,
   * Yahoo, 2024 bulk-sender rules) ask bulk senders to stay below 0.3%.
   */
  complaintRate: { day: string; sent: number; complaints: number; rate: number | null }[];
  /** Open requests first, then the latest answered ones. */
  requests: DsrRequestView[];
  totals: { sent: number; suppressed: number };
}

/** The UTC days from `from` to `to`, as `YYYY-MM-DD`. */
function daysBetween(from: number, to: number): string[] {
  const days: string[] = [];
  for (let at = from; at <= to; at += DAY) days.push(new Date(at).toISOString().slice(0, 10));
  return days;
}

/**
 * What the compliance dashboard shows for the last `days` days: decisions
 * per day — sent, and suppressed by first reason —, objections (GDPR Art.
 * 21) and spam complaints per day, and the data-subject requests with
 * their deadlines (Art. 12(3)), open ones first. Aggregated in SQL over the
 * (tenant, decided_at) index: no row is brought into memory.
 */
export async function dashboardStats(
  deps: Deps,
  tenantId: string,
  now: number,
  days = 30,
): Promise<DashboardStats> {
  const today = Math.floor(now / DAY) * DAY;
  const from = today - (days - 1) * DAY;
  const [decisions, complaints, allRequests] = await Promise.all([
    deps.db.all<{ day: string; series: string; count: number }>(sql`
      SELECT strftime('%Y-%m-%d', ${justifications.decidedAt} / 1000, 'unixepoch') AS day,
             CASE WHEN ${justifications.decision} = 'send' THEN 'sent'
                  ELSE coalesce(json_extract(${justifications.reasons}, '$[0]'), 'suppressed') END AS series,
             count(*) AS count
      FROM ${justifications}
      WHERE ${justifications.tenantId} = ${tenantId} AND ${justifications.decidedAt} >= ${from}
        AND NOT (${justifications.decision} = 'send' AND ${justifications.status} = 'cancelled')
      GROUP BY day, series ORDER BY day`),
    deps.db.all<{ day: string; series: string; count: number }>(sql`
      SELECT strftime('%Y-%m-%d', ${evidence.occurredAt} / 1000, 'unixepoch') AS day,
             CASE WHEN ${evidence.kind} = 'objection' THEN 'objection' ELSE 'spam-complaint' END AS series,
             count(*) AS count
      FROM ${evidence}
      WHERE ${evidence.tenantId} = ${tenantId} AND ${evidence.occurredAt} >= ${from}
        AND (${evidence.kind} = 'objection'
             OR (${evidence.kind} = 'suppression' AND json_extract(${evidence.data}, '$.reason') = 'spam-complaint'))
      GROUP BY day, series ORDER BY day`),
    listDsrRequests(deps, tenantId, { limit: 1000 }),
  ]);
  const counts = (rows: { day: string; series: string; count: number }[]) =>
    rows.map((row) => ({ day: row.day, series: row.series, count: Number(row.count) }));
  const decided = counts(decisions);
  const complained = counts(complaints);
  const dayList = daysBetween(from, today);
  const sum = (rows: DayCount[], day: string, series: string) =>
    rows.filter((r) => r.day === day && r.series === series).reduce((n, r) => n + r.count, 0);
  return {
    days: dayList,
    decisions: decided,
    complaints: complained,
    complaintRate: dayList.map((day) => {
      const sent = sum(decided, day, "sent");
      const spam = sum(complained, day, "spam-complaint");
      return { day, sent, complaints: spam, rate: sent === 0 ? null : spam / sent };
    }),
    requests: [
      ...allRequests.filter((r) => r.completedAt === null),
      ...allRequests
        .filter((r) => r.completedAt !== null)
        .slice(-20)
        .reverse(),
    ],
    totals: {
      sent: decided.filter((d) => d.series === "sent").reduce((n, d) => n + d.count, 0),
      suppressed: decided.filter((d) => d.series !== "sent").reduce((n, d) => n + d.count, 0),
    },
  };
}
