import {
  type ComposedMessage,
  complianceHeaders,
  composeMessage,
  type Locale,
  recipientSubstitutions,
  type SenderIdentity,
} from "../../domain/compliance/index.js";
import type { Topic } from "../../domain/topic.js";
import { signUnsubscribeToken } from "../../domain/unsubscribe-token.js";
import type { Basis } from "../../domain/vocabulary.js";
import type { OutgoingMail, Personalization } from "../delivery/provider.js";
import type { Deps } from "../deps.js";
import type { TenantRow } from "../tenant.js";
import type { Recipient } from "./decide-recipients.js";

/** A send request as validated by the HTTP layer (times in epoch ms). */
export interface SendRequest {
  topic: string;
  from: { email: string; name?: string | undefined };
  replyTo?: { email: string; name?: string | undefined } | undefined;
  subject: string;
  template?: string | undefined;
  html?: string | undefined;
  text?: string | undefined;
  data?: Record<string, unknown> | undefined;
  recipients: Recipient[];
  sendAt?: number | undefined;
  dryRun?: boolean | undefined;
  /** The language of the footer and of the pages its links open (default `en`). */
  locale?: Locale | undefined;
  /** The v3 drop-in: the caller's categories and custom args, passed on. */
  categories?: string[] | undefined;
  customArgs?: Record<string, string> | undefined;
  /**
   * Set only by a double opt-in request (subscriptions/request-subscription.ts),
   * never by an API caller: the topics whose consent the message asks to
   * confirm, and their names as the message shows them. Such a message is
   * decided as one the person asked for, not as the marketing it is about.
   */
  confirmation?: { topics: string[]; topicName: string } | undefined;
}

export function identityOf(tenant: TenantRow): SenderIdentity {
  return {
    legalName: tenant.legalName,
    address: tenant.address,
    registrationId: tenant.registrationId,
    contactEmail: tenant.contactEmail,
  };
}

/** What a recipient's personalization is made from. */
export interface PersonalizeInput {
  messageId: string;
  justificationId: string;
  subjectKey: string;
  basis: Basis;
  /** The evidence the decision rested on (for the consent's date). */
  evidence: readonly { kind: string; at: string }[];
  recipient: Recipient;
}

/**
 * Composes a message once for all its recipients (DESIGN §4) — or refuses it
 * with a problem before anything is sent — and makes each recipient's
 * personalization: the signed unsubscribe token in the link and in the
 * List-Unsubscribe headers (RFC 8058), the "why you receive this" sentence
 * that follows the recipient's basis, and the justification id in
 * `custom_args` (never personal data).
 */
export function composeFor(deps: Deps, tenant: TenantRow, topic: Topic, request: SendRequest) {
  const identity = identityOf(tenant);
  const composed: ComposedMessage = composeMessage({
    identity,
    topic,
    from: request.from,
    replyTo: request.replyTo,
    domains: tenant.domains,
    subject: request.subject,
    template: request.template,
    data: request.data,
    html: request.html,
    text: request.text,
    recipients: request.recipients,
    locale: request.locale,
  });
  const mail: Omit<OutgoingMail, "personalizations"> = {
    from: request.from.name
      ? { email: request.from.email, name: request.from.name }
      : { email: request.from.email },
    ...(request.replyTo
      ? {
          reply_to: request.replyTo.name
            ? { email: request.replyTo.email, name: request.replyTo.name }
            : { email: request.replyTo.email },
        }
      : {}),
    subject: composed.subject,
    ...(request.categories?.length ? { categories: request.categories } : {}),
    ...(request.customArgs ? { custom_args: request.customArgs } : {}),
    content: [
      { type: "text/plain", value: composed.text },
      ...(composed.html === null ? [] : [{ type: "text/html" as const, value: composed.html }]),
    ],
  };
  const marketing = composed.kind === "marketing";

  function personalize(input: PersonalizeInput): Personalization {
    const { recipient } = input;
    const consent = input.evidence.find((ref) => ref.kind === "consent-granted");
    let unsubscribeUrl: string | undefined;
    let headers: Record<string, string> | undefined;
    if (marketing) {
      const token = signUnsubscribeToken(deps.tokenKey, {
        tenantId: tenant.id,
        subjectKey: input.subjectKey,
        topic: topic.id,
        messageId: input.messageId,
        issuedAt: deps.clock(),
      });
      // RFC 8058: the header's URL is the one-click POST target, as issued;
      // the visible link opens its page in the message's language.
      const oneClickUrl = `${deps.publicUrl}/u/${token}`;
      headers = complianceHeaders({
        unsubscribeUrl: oneClickUrl,
        mailtoAddress: tenant.contactEmail,
        token,
      });
      unsubscribeUrl =
        request.locale && request.locale !== "en"
          ? `${oneClickUrl}?lang=${request.locale}`
          : oneClickUrl;
    }
    const substitutions = recipientSubstitutions({
      basis: input.basis,
      consentGivenAt: consent ? Date.parse(consent.at) : null,
      topic,
      unsubscribeUrl,
      recipient: { name: recipient.name, data: recipient.data },
      locale: request.locale,
      message: composed,
    });
    // SendGrid refuses a whole request when one name holds "," or ";"
    // (Mail Send limitations): those become spaces in the To name.
    const name = recipient.name?.replace(/[,;]/g, " ").replace(/\s+/g, " ").trim();
    return {
      to: [name ? { email: recipient.email.trim(), name } : { email: recipient.email.trim() }],
      ...(headers ? { headers } : {}),
      substitutions: { ...recipient.substitutions, ...substitutions },
      custom_args: { justification_id: input.justificationId },
    };
  }

  return { mail, personalize };
}
