/**
 * Gateway values of a message. A message is composed once for all its
 * recipients: what is the same for all of them (the sender's identity, the
 * right to object, the link labels) is written into the content when it is
 * composed (`messageGatewayValues`); what differs per recipient (the
 * unsubscribe link, the "why you receive this" sentence, the recipient's own
 * data) travels as SendGrid's `personalizations[].substitutions` and is
 * replaced in the content by the provider — or by the local outbox with
 * `applySubstitutions`. Keeping the substitutions to what differs keeps each
 * provider request, and each outbox row, small.
 *
 * Substitution keys (see `substitutionKey`): `%%grounds:<name>:html%%` in
 * the HTML part, `%%grounds:<name>:text%%` in the text part and the subject.
 * The HTML value is HTML-escaped, the text value is not.
 *
 *     grounds:sender               per message: who sends it — legal name,
 *                                  postal address, registration id (marketing:
 *                                  also that it is a commercial communication)
 *     grounds:why                  per recipient: why they receive it, by basis
 *     grounds:objection            marketing, per message: the right to object
 *                                  (GDPR Art. 21(4))
 *     grounds:unsubscribe_url      marketing, per recipient: the one-click link
 *     grounds:unsubscribe_label    marketing, per message: "Unsubscribe from <topic>"
 *     grounds:preferences_url      marketing, per recipient: the unsubscribe
 *                                  link's key followed by `#preferences`
 *     grounds:preferences_label    marketing, per message: "Manage your e-mail preferences"
 *     grounds:recipient.<field>    per recipient: `{{recipient.<field>}}` of the content
 */
import { ProblemError } from "../../problems.js";
import type { Topic } from "../topic.js";
import type { Basis } from "../vocabulary.js";
import { escapeHtml } from "./escape.js";
import { hasControlCharacters } from "./headers.js";
import { isSafeLink, scalarText, substitutionKey } from "./placeholders.js";
import type { SenderIdentity } from "./sender.js";
import { resolveLocale, type WhyReason, WORDING } from "./wording.js";

/** What kind of message, which decides the footer it carries. */
export type MessageKind = "marketing" | "service" | "confirmation";

/** Per-recipient gateway values every message has. */
export const COMMON_RECIPIENT_VALUES = ["sender", "why"] as const;
/** Per-recipient gateway values only marketing messages have. */
export const MARKETING_RECIPIENT_VALUES = [
  "objection",
  "unsubscribe_url",
  "unsubscribe_label",
  "preferences_url",
  "preferences_label",
] as const;

export function recipientValuesOf(kind: MessageKind): ReadonlySet<string> {
  return new Set<string>(
    kind === "marketing"
      ? [...COMMON_RECIPIENT_VALUES, ...MARKETING_RECIPIENT_VALUES]
      : COMMON_RECIPIENT_VALUES,
  );
}

/** The bases a marketing message may be sent on (docs/design.md §3 rules 4–6). */
const MARKETING_BASES: ReadonlySet<Basis> = new Set<Basis>([
  "consent",
  "legitimate-interest",
  "opt-out-regime",
  "corporate-subscriber",
  "implied-consent",
]);

export interface RecipientSubstitutionInput {
  /** The basis the decision gave; ignored for a confirmation request. */
  basis: Basis | null;
  /** When the consent was given (epoch ms), for "you subscribed … on <date>". */
  consentGivenAt?: number | null | undefined;
  topic: Pick<Topic, "name" | "class">;
  /** Marketing: this recipient's `https://…/u/TOKEN`. */
  unsubscribeUrl?: string | undefined;
  recipient: {
    name?: string | undefined;
    data?: Readonly<Record<string, unknown>> | undefined;
  };
  /** BCP 47 tag of the recipient's language; `en` unless known. */
  locale?: string | undefined;
  /**
   * The composed message: its kind and the `{{recipient.*}}` fields it uses,
   * each of which then gets a value (empty when the recipient has none, so
   * no key is left standing in the mail). Without it, the kind follows the
   * topic's class and the fields are the recipient's own.
   */
  message?:
    | {
        kind: MessageKind;
        recipientFields: readonly string[];
        subjectRecipientFields: readonly string[];
      }
    | undefined;
}

/**
 * The gateway values that are the same for every recipient of a message,
 * by placeholder name (`grounds.sender`, …): written into the content when
 * it is composed, HTML-escaped in the HTML part.
 */
export function messageGatewayValues(
  kind: MessageKind,
  identity: SenderIdentity,
  topicName: string,
  locale: string | undefined,
): Record<string, string> {
  const wording = WORDING[resolveLocale(locale)];
  if (kind !== "marketing") return { "grounds.sender": wording.sender(identity) };
  const contact = identity.contactEmail.trim();
  return {
    "grounds.sender": wording.commercialSender(identity),
    "grounds.objection": wording.objection(contact === "" ? null : contact),
    "grounds.unsubscribe_label": wording.unsubscribeLabel(topicName.trim()),
    "grounds.preferences_label": wording.preferencesLabel,
  };
}

/**
 * The substitutions of one recipient's personalization. Throws a TypeError
 * for a call that contradicts the message (a marketing message without an
 * unsubscribe link, or on a service basis): that is a bug, not a request.
 */
export function recipientSubstitutions(input: RecipientSubstitutionInput): Record<string, string> {
  const kind: MessageKind = input.message?.kind ?? input.topic.class;
  const wording = WORDING[resolveLocale(input.locale)];
  const out: Record<string, string> = {};
  const put = (name: string, text: string) => {
    out[substitutionKey(name, "text")] = text;
    out[substitutionKey(name, "html")] = escapeHtml(text);
  };

  let reason: WhyReason;
  if (kind === "marketing") {
    if (input.basis === null || !MARKETING_BASES.has(input.basis)) {
      throw new TypeError(`A marketing message cannot be sent on the basis ${input.basis}.`);
    }
    reason = input.basis;
  } else if (kind === "service") {
    if (input.basis !== null && input.basis !== "contract" && input.basis !== "legal-obligation") {
      throw new TypeError(`A service message is sent on contract or legal obligation.`);
    }
    reason = input.basis ?? "contract";
  } else {
    reason = "confirmation";
  }

  put(
    "why",
    wording.why(
      reason,
      input.topic.name.trim(),
      reason === "consent" ? (input.consentGivenAt ?? null) : null,
    ),
  );

  if (kind === "marketing") {
    const { unsubscribeUrl } = input;
    // CAN-SPAM 15 U.S.C. 7704(a)(3), Act 480/2004 §7(4)(c), RFC 8058: every
    // marketing message carries a working, per-recipient unsubscribe (and
    // the preference page behind the same link).
    if (!unsubscribeUrl || !isSafeLink(unsubscribeUrl)) {
      throw new TypeError("A marketing message needs the recipient's unsubscribe URL.");
    }
    put("unsubscribe_url", unsubscribeUrl);
  }

  const { name, data = {} } = input.recipient;
  // The recipient's name goes into the To header (and may go into the subject).
  if (name !== undefined && hasControlCharacters(name)) {
    throw new ProblemError("header-injection", {
      detail: "A recipient's name contains a line break or another control character.",
      errors: [{ pointer: "/recipient/name", detail: "contains a control character" }],
    });
  }
  const fields = input.message?.recipientFields ?? ["name", ...Object.keys(data)];
  const inSubject = new Set(input.message?.subjectRecipientFields ?? []);
  for (const field of fields) {
    const raw = field === "name" && name !== undefined ? name : data[field];
    const value = raw === undefined || raw === null ? "" : scalarText(raw);
    if (value === null) {
      throw new ProblemError("invalid-template-data", {
        detail: "A recipient's data value is not text, a number or a boolean.",
        errors: [
          { pointer: `/recipient/data/${field}`, detail: "must be text, a number or a boolean" },
        ],
      });
    }
    if (inSubject.has(field) && hasControlCharacters(value)) {
      throw new ProblemError("header-injection", {
        detail: "A recipient's value used in the subject contains a control character.",
        errors: [{ pointer: `/recipient/data/${field}`, detail: "contains a control character" }],
      });
    }
    out[substitutionKey(`recipient.${field}`, "text")] = value;
    out[substitutionKey(`recipient.${field}`, "html")] = escapeHtml(
      value.replace(/\r\n?/g, "\n"),
    ).replace(/\n/g, "<br>\n");
  }
  return out;
}

const patterns = new Map<string, RegExp>();

function patternFor(keys: readonly string[]): RegExp {
  const id = keys.join("\u0000");
  let pattern = patterns.get(id);
  if (!pattern) {
    pattern = new RegExp(keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
    // One message's recipients share their keys; a few patterns are enough.
    if (patterns.size >= 64) patterns.clear();
    patterns.set(id, pattern);
  }
  return pattern;
}

/**
 * What the provider does with `substitutions`: every occurrence of a key in
 * the content replaced by its value. In one pass, longer keys first, so a
 * value is never scanned again (a recipient's data that happens to contain
 * a key stays as written) and no key eats the start of a longer one.
 */
export function applySubstitutions(
  content: string,
  substitutions: Readonly<Record<string, string>>,
): string {
  const keys = Object.keys(substitutions)
    .filter((key) => key.length > 0)
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  if (keys.length === 0) return content;
  return content.replace(patternFor(keys), (key) => substitutions[key] ?? key);
}
