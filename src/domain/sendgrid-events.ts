import { canonicalJson, sha256HexSync } from "./proof/chain.js";

/**
 * SendGrid Event Webhook events (Twilio SendGrid, "Event Webhook Reference")
 * and what each means for Grounds: a delivery status of the justification
 * the event is about, evidence about the recipient, or nothing. Pure: the
 * service decides with it, then writes.
 *
 * SendGrid echoes a message's custom args as top-level fields of its events
 * ("Event Webhook Reference", unique arguments); the send path sets
 * `justification_id`, which names the proof row, so the event needs no
 * address to find its subject.
 */

/** The delivery statuses events set (a subset of a justification's statuses). */
export type EventDeliveryStatus =
  | "accepted"
  | "deferred"
  | "delivered"
  | "blocked"
  | "bounced"
  | "dropped";

/** One event, read leniently from the webhook's JSON array. */
export interface SendGridEvent {
  /** `sg_event_id`, or `sha256:<hex>` of the event's JSON when SendGrid sent none. */
  sgEventId: string;
  /** Whether `sgEventId` came from SendGrid. */
  hasEventId: boolean;
  /** The event type (`bounce`, `open`, …), "" when absent. */
  event: string;
  /** When it happened: SendGrid's `timestamp` (Unix seconds) in epoch ms. */
  at: number | null;
  justificationId: string | null;
  sgMessageId: string | null;
  /** The recipient as SendGrid reports it (used only for an unmatched event's subject key). */
  email: string | null;
  asmGroupId: string | null;
  /** SendGrid's `sg_machine_open`: an open by a machine (e.g. Apple Mail Privacy Protection). */
  machineOpen: boolean;
  /** A bounce's `type`: `bounce` (permanent) or `blocked` (temporary). */
  bounceType: string | null;
  /** The provider's reason or SMTP response, addresses removed. */
  reason: string | null;
}

/** What the service records for an event. */
export type EvidenceIntent =
  | { kind: "suppression"; reason: "hard-bounce" | "spam-complaint" }
  | { kind: "objection"; scope: "all-marketing" }
  | { kind: "objection"; scope: "group"; asmGroupId: string | null }
  | { kind: "consent"; asmGroupId: string | null }
  | { kind: "engagement"; engagement: "open" | "click" };

export interface EventEffect {
  /** A new delivery status for the event's justification. */
  status?: { status: EventDeliveryStatus; error: string | null };
  evidence?: EvidenceIntent;
  /** Why the event changes nothing, when it does not. */
  ignored?: string;
}

const MAX_ID = 200;
const MAX_REASON = 500;

const text = (value: unknown, max = MAX_ID): string | null =>
  typeof value === "string" && value.length > 0 && value.length <= max ? value : null;

/**
 * A provider's reason text can quote the recipient's address ("550 5.1.1
 * <jane@example.com>: user unknown"); it is kept with the proof, so the
 * address is cut out of it (erasure could not find it there).
 */
export function redactAddresses(reason: string): string {
  return reason.replace(/[^\s<>"'()[\],;:]+@[^\s<>"'()[\],;:]+/g, "<address>").slice(0, MAX_REASON);
}

/** Reads one element of the webhook's array; null if it is not an object. */
export function readSendGridEvent(raw: unknown): SendGridEvent | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const e = raw as Record<string, unknown>;
  const given = text(e.sg_event_id);
  const seconds =
    typeof e.timestamp === "number"
      ? e.timestamp
      : typeof e.timestamp === "string" && /^\d{1,12}$/.test(e.timestamp)
        ? Number(e.timestamp)
        : Number.NaN;
  const customArgs =
    typeof e.custom_args === "object" && e.custom_args !== null
      ? (e.custom_args as Record<string, unknown>)
      : {};
  const asm = e.asm_group_id;
  const reasonText = [text(e.status, 50), text(e.reason, 5000) ?? text(e.response, 5000)]
    .filter((part): part is string => part !== null)
    .join(" ");
  return {
    sgEventId: given ?? `sha256:${sha256HexSync(canonicalJson(e))}`,
    hasEventId: given !== null,
    event: text(e.event, 50) ?? "",
    at: Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : null,
    justificationId: text(e.justification_id) ?? text(customArgs.justification_id),
    sgMessageId: text(e.sg_message_id),
    email: text(e.email, 320),
    asmGroupId:
      typeof asm === "number" && Number.isInteger(asm) && asm > 0
        ? String(asm)
        : typeof asm === "string" && /^[1-9]\d{0,9}$/.test(asm)
          ? asm
          : null,
    machineOpen: e.sg_machine_open === true || e.sg_machine_open === "true",
    bounceType: text(e.type, 50),
    reason: reasonText.length > 0 ? redactAddresses(reasonText) : null,
  };
}

/**
 * What an event means (the table of issue #5):
 * - `bounce` (type `bounce`, permanent) → a `hard-bounce` suppression, and
 *   the justification `bounced`;
 * - `bounce` of type `blocked`, `blocked`, `deferred` → delivery status only:
 *   the receiving server refused or delayed this message, which says nothing
 *   lasting about the address;
 * - `processed`, `delivered`, `dropped` → delivery status (and the
 *   provider's message id);
 * - `spamreport` → a `spam-complaint` suppression (an objection to all
 *   marketing);
 * - `unsubscribe` → an objection to all marketing; `group_unsubscribe` →
 *   an objection to the group's topic; `group_resubscribe` → consent to it;
 * - `open`, `click` → engagement, which keeps consent fresh; an open SendGrid
 *   marks `sg_machine_open` (a machine fetched the pixel, e.g. Apple Mail
 *   Privacy Protection prefetching every image) is no sign of a person and
 *   is ignored.
 */
export function effectOf(event: SendGridEvent): EventEffect {
  switch (event.event) {
    case "processed":
      return { status: { status: "accepted", error: null } };
    case "delivered":
      return { status: { status: "delivered", error: null } };
    case "deferred":
      return { status: { status: "deferred", error: event.reason } };
    case "dropped":
      return { status: { status: "dropped", error: event.reason } };
    case "blocked":
      return { status: { status: "blocked", error: event.reason } };
    case "bounce":
      if (event.bounceType === "blocked") {
        return { status: { status: "blocked", error: event.reason } };
      }
      return {
        status: { status: "bounced", error: event.reason },
        evidence: { kind: "suppression", reason: "hard-bounce" },
      };
    case "spamreport":
      return { evidence: { kind: "suppression", reason: "spam-complaint" } };
    case "unsubscribe":
      return { evidence: { kind: "objection", scope: "all-marketing" } };
    case "group_unsubscribe":
      return { evidence: { kind: "objection", scope: "group", asmGroupId: event.asmGroupId } };
    case "group_resubscribe":
      return { evidence: { kind: "consent", asmGroupId: event.asmGroupId } };
    case "open":
      if (event.machineOpen) return { ignored: "machine open (sg_machine_open)" };
      return { evidence: { kind: "engagement", engagement: "open" } };
    case "click":
      return { evidence: { kind: "engagement", engagement: "click" } };
    default:
      return { ignored: "event type not used by Grounds" };
  }
}

/**
 * The order of delivery statuses, so that events delivered out of order
 * never move a justification backwards (a late `processed` does not undo
 * `delivered`). Statuses set by Grounds' own decision (`suppressed`,
 * `cancelled`: never handed to the provider) are never changed by events;
 * `pending`, `unknown` (a crash while handing over) and `failed` are what
 * an event from the provider corrects.
 */
const RANK: Record<string, number> = {
  pending: 0,
  unknown: 0,
  failed: 0,
  accepted: 1,
  deferred: 2,
  delivered: 3,
  blocked: 4,
  bounced: 4,
  dropped: 4,
};

/** Whether `next` (at `nextAt`) should replace `current` (set at `currentAt`). */
export function supersedesStatus(
  current: string,
  currentAt: number,
  next: EventDeliveryStatus,
  nextAt: number,
): boolean {
  const from = RANK[current];
  const to = RANK[next] as number;
  if (from === undefined) return false;
  return to > from || (to === from && current !== next && nextAt >= currentAt);
}
