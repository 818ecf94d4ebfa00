import { isReservedHeader } from "../../domain/compliance/index.js";
import {
  base64Bytes,
  isBase64,
  jsonBytes,
  MAX_CUSTOM_ARGS_BYTES,
  MAX_MAIL_BYTES,
  MAX_SCHEDULE_AHEAD_MS,
  rewriteUnsubscribeTags,
} from "../../domain/sendgrid-mail.js";
import { ProblemError, type ProblemField } from "../../problems.js";
import type { MailAttachment, TrackingSettings } from "../delivery/provider.js";
import type { Deps } from "../deps.js";
import { tenantSendGridMapping } from "../settings/settings.js";
import type { TenantRow } from "../tenant.js";
import type { SendRequest } from "./compose.js";
import type { Recipient } from "./decide-recipients.js";
import { type SendResult, sendMessage } from "./send-message.js";

interface Address {
  email: string;
  name?: string | undefined;
}
interface Setting {
  enable?: boolean | undefined;
}

/** SendGrid's v3 `mail/send` body, as the route validated it (every documented field). */
export interface SendGridMail {
  personalizations: {
    to: Address[];
    cc?: Address[] | undefined;
    bcc?: Address[] | undefined;
    from?: Address | undefined;
    subject?: string | undefined;
    headers?: Record<string, string> | undefined;
    substitutions?: Record<string, string> | undefined;
    dynamic_template_data?: Record<string, unknown> | undefined;
    custom_args?: Record<string, string> | undefined;
    send_at?: number | undefined;
  }[];
  from: Address;
  reply_to?: Address | undefined;
  reply_to_list?: Address[] | undefined;
  subject?: string | undefined;
  content?: { type: string; value: string }[] | undefined;
  attachments?:
    | {
        content: string;
        filename: string;
        type?: string | undefined;
        disposition?: "inline" | "attachment" | undefined;
        content_id?: string | undefined;
        contentId?: string | undefined;
      }[]
    | undefined;
  template_id?: string | undefined;
  headers?: Record<string, string> | undefined;
  categories?: string[] | undefined;
  custom_args?: Record<string, string> | undefined;
  send_at?: number | undefined;
  batch_id?: string | undefined;
  asm?: { group_id: number; groups_to_display?: number[] | undefined } | undefined;
  ip_pool_name?: string | undefined;
  mail_settings?:
    | {
        bypass_list_management?: Setting | undefined;
        bypass_spam_management?: Setting | undefined;
        bypass_bounce_management?: Setting | undefined;
        bypass_unsubscribe_management?: Setting | undefined;
        footer?: (Setting & { text?: string | undefined; html?: string | undefined }) | undefined;
        sandbox_mode?: Setting | undefined;
      }
    | undefined;
  tracking_settings?:
    | {
        click_tracking?: (Setting & { enable_text?: boolean | undefined }) | undefined;
        open_tracking?: (Setting & { substitution_tag?: string | undefined }) | undefined;
        subscription_tracking?:
          | (Setting & {
              text?: string | undefined;
              html?: string | undefined;
              substitution_tag?: string | undefined;
            })
          | undefined;
        ganalytics?: (Setting & Record<string, string | boolean | undefined>) | undefined;
      }
    | undefined;
}

/** What the drop-in answers: the send's result, and whether it was SendGrid's sandbox. */
export interface SendGridCompatibleResult extends SendResult {
  sandbox: boolean;
}

/**
 * The topic of a v3 mail: `custom_args.topic`, else the tenant's mapping of a
 * category, else of the ASM (unsubscribe) group. Without one, no decision
 * can be made, so the mail is refused.
 */
async function topicOf(deps: Deps, tenantId: string, mail: SendGridMail): Promise<string> {
  const explicit = mail.custom_args?.topic ?? mail.personalizations[0]?.custom_args?.topic;
  if (explicit) return explicit;
  const mapping = await tenantSendGridMapping(deps, tenantId);
  for (const category of mail.categories ?? []) {
    const topic = mapping.categories[category];
    if (topic) return topic;
  }
  if (mail.asm) {
    const topic = mapping.asmGroups[String(mail.asm.group_id)];
    if (topic) return topic;
  }
  throw new ProblemError("invalid-request", {
    detail:
      "Name the topic in custom_args.topic, or map the mail's category or ASM group to a topic in the tenant's settings.",
    errors: [{ pointer: "/custom_args/topic", detail: "no topic for this mail" }],
  });
}

const enabled = (s: Setting | undefined) => s?.enable === true;

/**
 * The fields Grounds refuses (docs/sendgrid-drop-in.md): those that would
 * let a mail around the decision or the gateway's unsubscribe, and those it
 * cannot honour. Each is named, so the caller learns exactly what to drop.
 */
function refusals(mail: SendGridMail): ProblemField[] {
  const out: ProblemField[] = [];
  const refuse = (pointer: string, detail: string) => out.push({ pointer, detail });
  const settings = mail.mail_settings ?? {};
  for (const name of [
    "bypass_list_management",
    "bypass_spam_management",
    "bypass_bounce_management",
    "bypass_unsubscribe_management",
  ] as const) {
    // Grounds' decision is the suppression list; nothing bypasses it (docs/design.md §3).
    if (enabled(settings[name])) {
      refuse(`/mail_settings/${name}`, "would send to suppressed recipients; not allowed");
    }
  }
  if (mail.template_id !== undefined) {
    refuse(
      "/template_id",
      "SendGrid templates are rendered by SendGrid, where Grounds cannot add the compliance footer; send the content itself",
    );
  }
  mail.personalizations.forEach((p, i) => {
    if (p.dynamic_template_data !== undefined) {
      refuse(
        `/personalizations/${i}/dynamic_template_data`,
        "only with template_id; use substitutions",
      );
    }
    if (p.from !== undefined) {
      refuse(`/personalizations/${i}/from`, "one sender per mail: give it in from");
    }
  });
  if (mail.asm?.groups_to_display !== undefined) {
    refuse(
      "/asm/groups_to_display",
      "Grounds' preference page lists every marketing topic of the tenant",
    );
  }
  const subscription = mail.tracking_settings?.subscription_tracking;
  if (
    enabled(subscription) &&
    (subscription?.text !== undefined || subscription?.html !== undefined)
  ) {
    refuse(
      "/tracking_settings/subscription_tracking",
      "the unsubscribe link is Grounds' own; place it with substitution_tag or an unsubscribe tag",
    );
  }
  mail.content?.forEach((c, i) => {
    if (c.type !== "text/plain" && c.type !== "text/html") {
      refuse(`/content/${i}/type`, "only text/plain and text/html carry the compliance footer");
    }
  });
  return out;
}

/** SendGrid's own limits, checked here so that a mail Grounds takes is not refused later. */
function limitErrors(deps: Deps, mail: SendGridMail): ProblemField[] {
  const out: ProblemField[] = [];
  const add = (pointer: string, detail: string) => out.push({ pointer, detail });
  if (mail.reply_to && mail.reply_to_list) {
    add("/reply_to_list", "use either reply_to or reply_to_list, not both");
  }
  const latest = deps.clock() + MAX_SCHEDULE_AHEAD_MS;
  if (mail.send_at !== undefined && mail.send_at * 1000 > latest) {
    add("/send_at", "scheduling more than 72 hours in advance is forbidden");
  }
  const checkHeaders = (pointer: string, headers: Record<string, string> | undefined) => {
    for (const name of Object.keys(headers ?? {})) {
      const at = `${pointer}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      if (!/^[!-9;-~]+$/.test(name)) add(at, "not a valid header name");
      else if (isReservedHeader(name)) add(at, "set by Grounds or SendGrid; may not be given");
    }
  };
  checkHeaders("/headers", mail.headers);
  mail.personalizations.forEach((p, i) => {
    checkHeaders(`/personalizations/${i}/headers`, p.headers);
    if (p.send_at !== undefined && p.send_at * 1000 > latest) {
      add(
        `/personalizations/${i}/send_at`,
        "scheduling more than 72 hours in advance is forbidden",
      );
    }
    if (jsonBytes({ ...mail.custom_args, ...p.custom_args }) > MAX_CUSTOM_ARGS_BYTES) {
      add(
        `/personalizations/${i}/custom_args`,
        `with the message's, at most ${MAX_CUSTOM_ARGS_BYTES} bytes (Grounds adds justification_id)`,
      );
    }
  });
  const categories = mail.categories ?? [];
  categories.forEach((category, i) => {
    if (!/^[\x20-\x7e]*$/.test(category)) add(`/categories/${i}`, "must be ASCII");
  });
  if (new Set(categories).size !== categories.length) add("/categories", "must be unique");
  let bytes = 0;
  (mail.attachments ?? []).forEach((attachment, i) => {
    if (!isBase64(attachment.content)) {
      add(`/attachments/${i}/content`, "must be base64 encoded (RFC 4648, no line breaks)");
    } else {
      bytes += base64Bytes(attachment.content);
    }
    if (
      attachment.disposition === "inline" &&
      attachment.content_id === undefined &&
      attachment.contentId === undefined
    ) {
      add(`/attachments/${i}/content_id`, "required when disposition is inline");
    }
    for (const [field, value] of Object.entries(attachment)) {
      if (field !== "content" && /[\r\n]/.test(String(value))) {
        add(`/attachments/${i}/${field}`, "contains a line break");
      }
    }
  });
  if (bytes > MAX_MAIL_BYTES) add("/attachments", "the mail must be less than 30 MB");
  return out;
}

/** One value shared by every personalization, else a refusal naming the field. */
function shared<T>(
  values: readonly (T | undefined)[],
  fallback: T | undefined,
  field: string,
): T | undefined {
  const distinct = new Set(values.map((value) => value ?? fallback));
  if (distinct.size > 1) {
    throw new ProblemError("invalid-request", {
      detail: `One ${field} per mail: Grounds composes one message for all its recipients.`,
      errors: [
        { pointer: `/personalizations/${field}`, detail: "differs between personalizations" },
      ],
    });
  }
  const [value] = distinct;
  return value;
}

/** The caller's footer (`mail_settings.footer`), added as SendGrid adds it: at the end. */
function withFooter(
  content: string | undefined,
  footer: string | undefined,
  part: "html" | "text",
): string | undefined {
  if (content === undefined || !footer) return content;
  if (part === "html" && /<\/body>/i.test(content)) {
    return content.replace(/<\/body>(?![\s\S]*<\/body>)/i, `${footer}</body>`);
  }
  return `${content}${part === "text" ? "\n" : ""}${footer}`;
}

/**
 * SendGrid's v3 `mail/send`, through Grounds (docs/design.md §5): every documented
 * field is honoured or refused (docs/sendgrid-drop-in.md). Every recipient
 * (to, cc, bcc) is decided like any other; suppressed recipients are
 * removed; the others get the compliance footer and headers, each in a
 * personalization of their own (so cc and bcc recipients no longer see each
 * other), with the caller's substitutions, headers and custom args passed
 * on, and SendGrid's unsubscribe tags made the recipient's Grounds links.
 * Everything the provider is to receive is kept in the message's request,
 * so a scheduled or queued send delivers all of it.
 */
export async function sendSendGridCompatible(
  deps: Deps,
  tenant: TenantRow,
  mail: SendGridMail,
): Promise<SendGridCompatibleResult> {
  const refused = refusals(mail);
  if (refused.length > 0) {
    throw new ProblemError("invalid-request", {
      detail: "Grounds does not take these fields (docs/sendgrid-drop-in.md).",
      errors: refused,
    });
  }
  const limits = limitErrors(deps, mail);
  if (limits.length > 0) {
    throw new ProblemError("invalid-request", {
      detail: "The mail is over one of SendGrid's limits.",
      errors: limits,
    });
  }
  const subject = shared(
    mail.personalizations.map((p) => p.subject),
    mail.subject,
    "subject",
  );
  if (!subject) {
    throw new ProblemError("invalid-request", {
      detail: "The mail has no subject.",
      errors: [{ pointer: "/subject", detail: "required" }],
    });
  }
  const sendAt = shared(
    mail.personalizations.map((p) => p.send_at),
    mail.send_at,
    "send_at",
  );
  const topics = new Set(
    mail.personalizations.map((p) => p.custom_args?.topic ?? mail.custom_args?.topic),
  );
  if (topics.size > 1) {
    throw new ProblemError("invalid-request", {
      detail: "One topic per mail: a decision is about one kind of message.",
      errors: [{ pointer: "/personalizations/custom_args/topic", detail: "differs" }],
    });
  }
  const recipients: Recipient[] = mail.personalizations.flatMap((p) =>
    [...p.to, ...(p.cc ?? []), ...(p.bcc ?? [])].map((address) => ({
      email: address.email,
      ...(address.name ? { name: address.name } : {}),
      ...(p.substitutions ? { substitutions: p.substitutions } : {}),
      ...(p.custom_args ? { customArgs: p.custom_args } : {}),
      ...(p.headers ? { headers: p.headers } : {}),
    })),
  );

  const footer = enabled(mail.mail_settings?.footer) ? mail.mail_settings?.footer : undefined;
  const subscription = mail.tracking_settings?.subscription_tracking;
  const customTag = enabled(subscription) ? subscription?.substitution_tag : undefined;
  const part = (type: "text/html" | "text/plain", name: "html" | "text") => {
    const given = withFooter(
      mail.content?.find((c) => c.type === type)?.value,
      footer?.[name],
      name,
    );
    return given === undefined ? undefined : rewriteUnsubscribeTags(given, name, customTag).content;
  };

  const { topic: _topic, ...customArgs } = mail.custom_args ?? {};
  const sandbox = enabled(mail.mail_settings?.sandbox_mode);
  const request: SendRequest = {
    topic: await topicOf(deps, tenant.id, mail),
    from: mail.from,
    replyTo: mail.reply_to,
    subject,
    html: part("text/html", "html"),
    text: part("text/plain", "text"),
    recipients,
    // SendGrid's sandbox answers at once: a sandbox mail is decided now, never scheduled.
    sendAt: sendAt === undefined || sandbox ? undefined : sendAt * 1000,
    categories: mail.categories,
    customArgs: Object.keys(customArgs).length > 0 ? customArgs : undefined,
    headers: mail.headers,
    attachments: mail.attachments?.map((a): MailAttachment => {
      const contentId = a.content_id ?? a.contentId;
      return {
        content: a.content,
        filename: a.filename,
        ...(a.type !== undefined && { type: a.type }),
        ...(a.disposition !== undefined && { disposition: a.disposition }),
        ...(contentId !== undefined && { content_id: contentId }),
      };
    }),
    replyToList: mail.reply_to_list,
    batchId: mail.batch_id,
    ipPoolName: mail.ip_pool_name,
    trackingSettings: trackingSettingsOf(mail),
    sandbox,
  };
  const result = await sendMessage(deps, tenant, request);
  return { ...result, sandbox };
}

/**
 * The tracking settings passed on to SendGrid: as given, except that
 * SendGrid's own subscription tracking is always off — the unsubscribe link
 * and List-Unsubscribe header are the gateway's (RFC 8058), and a second one
 * would record unsubscribes outside Grounds.
 */
function trackingSettingsOf(mail: SendGridMail): TrackingSettings | undefined {
  const given = mail.tracking_settings;
  if (!given) return undefined;
  const out: TrackingSettings = {};
  for (const [name, setting] of Object.entries(given)) {
    if (setting === undefined) continue;
    out[name] =
      name === "subscription_tracking"
        ? { enable: false }
        : (Object.fromEntries(
            Object.entries(setting).filter(([, value]) => value !== undefined),
          ) as Record<string, string | boolean>);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
