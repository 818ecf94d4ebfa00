import type { EvidenceEvent } from "../../domain/evidence.js";
import type { EvidenceRow } from "./rows.js";

export type { EvidenceRow };

type Data = Record<string, unknown>;

const str = (data: Data, key: string): string => String(data[key] ?? "");
const num = (data: Data, key: string): number | null =>
  typeof data[key] === "number" ? (data[key] as number) : null;

/**
 * A stored evidence row as the decision sees it. Rows that only record
 * history (subject facts) carry nothing the decision uses and map to null.
 * The time it was recorded goes with it: a stop dated ahead of the clock
 * counts from then (docs/design.md §2 "When an event happened").
 */
export function toDomainEvent(
  row: Pick<EvidenceRow, "id" | "kind" | "topic" | "occurredAt" | "data">,
  recordedAt: number,
): EvidenceEvent | null {
  const event = eventOf(row);
  return event && { ...event, recordedAt };
}

function eventOf(
  row: Pick<EvidenceRow, "id" | "kind" | "topic" | "occurredAt" | "data">,
): EvidenceEvent | null {
  const { id, data } = row;
  const at = row.occurredAt;
  const topic = row.topic ?? "";
  switch (row.kind) {
    case "consent-granted":
      return {
        id,
        at,
        kind: "consent-granted",
        topic,
        method: str(data, "method") as never,
        confirmedAt: num(data, "confirmedAt"),
      };
    case "consent-withdrawn":
      return { id, at, kind: "consent-withdrawn", topic };
    case "consent-confirmed":
      return { id, at, kind: "consent-confirmed", topic, consentId: str(data, "consentId") };
    case "customer":
      return {
        id,
        at,
        kind: "customer",
        relationship: str(data, "relationship") as never,
        since: num(data, "since") ?? at,
        lastAt: num(data, "lastAt") ?? at,
        categories: Array.isArray(data.categories) ? (data.categories as string[]) : [],
        optOutOfferedAt: num(data, "optOutOfferedAt"),
      };
    case "objection":
      return { id, at, kind: "objection", topic, channel: str(data, "channel") as never };
    case "suppression":
      return { id, at, kind: "suppression", reason: str(data, "reason") as never };
    case "suppression-lifted":
      return { id, at, kind: "suppression-lifted", reason: str(data, "reason") as never };
    case "engagement":
      return { id, at, kind: "engagement", engagement: str(data, "engagement") as never };
    case "erasure":
      return { id, at, kind: "erasure" };
    case "subject-facts":
      return null;
  }
}
