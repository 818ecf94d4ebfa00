import {
  assertHeaderSafe,
  type ComposedMessage,
  complianceHeaders,
  composeMessage,
  type Locale,
  recipientSubstitutions,
  type SenderIdentity,
} from "../../domain/compliance/index.js";
import { type Topic, topicInLocale } from "../../domain/topic.js";
import { signUnsubscribeToken } from "../../domain/unsubscribe-token.js";
import type { Basis } from "../../domain/vocabulary.js";
import type {
  MailAttachment,
  OutgoingMail,
  Personalization,
  TrackingSettings,
} from "../delivery/provider.js";
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
  /**
   * The v3 drop-in (send-sendgrid-compatible.ts): what the caller gave that
   * the provider is to receive as given. Kept with the message (its stored
   * `request`), so a scheduled or queued send delivers all of it.
   */
  categories?: string[] | undefined;
  customArgs?: Record<string, string> | undefined;
  /** Custom headers; those the gateway sets are refused (compliance/headers.ts). */
  headers?: Record<string, string> | undefined;
  attachments?: MailAttachment[] | undefined;
  replyToList?: { email: string; name?: string | undefined }[] | undefined;
  batchId?: string | undefined;
  ipPoolName?: string | undefined;
  trackingSettings?: TrackingSettings | undefined;
  /**
   * SendGrid's `mail_settings.sandbox_mode`: every recipient is decided and
   * the decisions proven, and nothing is delivered.
   */
  sandbox?: boolean | undefined;
  /**
   * Set only by a double opt-in request (subscriptions/request-subscription.ts),
   * never by an API caller: the topics whose consent the message asks to
   * confirm, and their names as the message shows them. Such a message is
   * decided as one the person asked for, not as the marketing it is about.
   */
  confirmation?: { topics: string[]; topicName: string } | undefined;
}

function mailAddress(a: { email: string; name?: string | undefined }) {
  return a.name ? { email: a.email, name: a.name } : { email: a.email };
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
 * A message as composed once, at send time, for all its recipients (docs/design.md §4):
 * stored with the message (`messages.composition`) so that delivery — later,
 * chunk by chunk, perhaps after a restart — personalises from it and never
 * composes again.
 */
export interface Composition {
  /** The topic the message is about, as composed (a double opt-in names its topics). */
  topic: Topic;
  locale?: Locale | undefined;
  message: ComposedMessage;
  /** Everything of the provider's mail but the per-recipient personalizations. */
  mail: Omit<OutgoingMail, "personalizations">;
}

/**
 * Composes a message once for all its recipients (docs/design.md §4), or refuses it
 * with a problem (header injection, an unverified From domain, a missing
 * sender identity or content) before anything is written or sent.
 */
export function composeFor(
  tenant: TenantRow,
  defaultTopic: Topic,
  request: SendRequest,
): Composition {
  // The footer names the topic in the message's language (its translation, else its name).
  const topic = topicInLocale(defaultTopic, request.locale ?? "en");
  const message: ComposedMessage = composeMessage({
    identity: identityOf(tenant),
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
    headers: request.headers,
    locale: request.locale,
  });
  for (const recipient of request.recipients) {
    // A personalization's own headers are checked as the message's are.
    if (recipient.headers) assertHeaderSafe({ headers: recipient.headers });
  }
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
    subject: message.subject,
    ...(request.categories?.length ? { categories: request.categories } : {}),
    ...(request.customArgs ? { custom_args: request.customArgs } : {}),
    ...(request.headers && Object.keys(request.headers).length > 0
      ? { headers: request.headers }
      : {}),
    ...(request.replyToList?.length ? { reply_to_list: request.replyToList.map(mailAddress) } : {}),
    ...(request.attachments?.length ? { attachments: request.attachments } : {}),
    ...(request.batchId !== undefined ? { batch_id: request.batchId } : {}),
    ...(request.ipPoolName !== undefined ? { ip_pool_name: request.ipPoolName } : {}),
    ...(request.trackingSettings ? { tracking_settings: request.trackingSettings } : {}),
    content: [
      { type: "text/plain", value: message.text },
      ...(message.html === null ? [] : [{ type: "text/html" as const, value: message.html }]),
    ],
  };
  return { topic, ...(request.locale ? { locale: request.locale } : {}), message, mail };
}

/**
 * Makes each recipient's personalization from a message's composition: the
 * signed unsubscribe token in the link and in the List-Unsubscribe headers
 * (RFC 8058), the "why you receive this" sentence that follows the
 * recipient's basis, and the justification id in `custom_args` (never
 * personal data).
 */
export function personalizerFor(
  deps: Pick<Deps, "tokenKey" | "clock" | "publicUrl">,
  tenant: Pick<TenantRow, "id" | "contactEmail">,
  { topic, locale, message }: Composition,
): (input: PersonalizeInput) => Personalization {
  const marketing = message.kind === "marketing";
  return (input) => {
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
      unsubscribeUrl = locale && locale !== "en" ? `${oneClickUrl}?lang=${locale}` : oneClickUrl;
    }
    const substitutions = recipientSubstitutions({
      basis: input.basis,
      consentGivenAt: consent ? Date.parse(consent.at) : null,
      topic,
      unsubscribeUrl,
      recipient: { name: recipient.name, data: recipient.data },
      locale,
      message,
    });
    // SendGrid refuses a whole request when one name holds "," or ";"
    // (Mail Send limitations): those become spaces in the To name.
    const name = recipient.name?.replace(/[,;]/g, " ").replace(/\s+/g, " ").trim();
    // The gateway's headers and justification id win over the caller's own.
    const allHeaders = { ...recipient.headers, ...headers };
    return {
      to: [name ? { email: recipient.email.trim(), name } : { email: recipient.email.trim() }],
      ...(Object.keys(allHeaders).length > 0 ? { headers: allHeaders } : {}),
      substitutions: { ...recipient.substitutions, ...substitutions },
      custom_args: { ...recipient.customArgs, justification_id: input.justificationId },
    };
  };
}
