import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { tenantSendGridMapping } from "../settings/settings.js";
import type { TenantRow } from "../tenant.js";
import type { SendRequest } from "./compose.js";
import type { Recipient } from "./decide-recipients.js";
import { sendMessage } from "./send-message.js";

/** The part of SendGrid's v3 `mail/send` body the drop-in understands. */
export interface SendGridMail {
  personalizations: {
    to: { email: string; name?: string | undefined }[];
    cc?: { email: string; name?: string | undefined }[] | undefined;
    bcc?: { email: string; name?: string | undefined }[] | undefined;
    subject?: string | undefined;
    substitutions?: Record<string, string> | undefined;
    custom_args?: Record<string, string> | undefined;
    send_at?: number | undefined;
  }[];
  from: { email: string; name?: string | undefined };
  reply_to?: { email: string; name?: string | undefined } | undefined;
  subject?: string | undefined;
  content?: { type: string; value: string }[] | undefined;
  template_id?: string | undefined;
  categories?: string[] | undefined;
  custom_args?: Record<string, string> | undefined;
  asm?: { group_id: number } | undefined;
  send_at?: number | undefined;
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

/**
 * SendGrid's v3 `mail/send`, through Grounds: every recipient (to, cc, bcc)
 * is decided like any other; suppressed recipients are removed; the others
 * get the compliance footer and headers, each in a personalization of their
 * own (so cc and bcc recipients no longer see each other), with the
 * caller's substitutions passed on.
 */
export async function sendSendGridCompatible(deps: Deps, tenant: TenantRow, mail: SendGridMail) {
  if (mail.template_id) {
    throw new ProblemError("invalid-request", {
      detail:
        "SendGrid templates are rendered by SendGrid, where Grounds cannot add the compliance footer; send the content itself.",
      errors: [{ pointer: "/template_id", detail: "not supported through Grounds" }],
    });
  }
  const subjects = new Set(mail.personalizations.map((p) => p.subject ?? mail.subject));
  const [subject] = subjects;
  if (subjects.size !== 1 || !subject) {
    throw new ProblemError("invalid-request", {
      detail: "One subject per mail: Grounds composes one message for all its recipients.",
      errors: [
        { pointer: "/subject", detail: subject ? "differs between personalizations" : "required" },
      ],
    });
  }
  const recipients: Recipient[] = mail.personalizations.flatMap((p) =>
    [...p.to, ...(p.cc ?? []), ...(p.bcc ?? [])].map((address) => ({
      email: address.email,
      ...(address.name ? { name: address.name } : {}),
      ...(p.substitutions ? { substitutions: p.substitutions } : {}),
    })),
  );
  const sendAt = mail.send_at ?? mail.personalizations[0]?.send_at;
  const { topic: _topic, ...customArgs } = mail.custom_args ?? {};
  const request: SendRequest = {
    topic: await topicOf(deps, tenant.id, mail),
    from: mail.from,
    replyTo: mail.reply_to,
    subject,
    html: mail.content?.find((c) => c.type === "text/html")?.value,
    text: mail.content?.find((c) => c.type === "text/plain")?.value,
    recipients,
    sendAt: sendAt === undefined ? undefined : sendAt * 1000,
    categories: mail.categories,
    customArgs: Object.keys(customArgs).length > 0 ? customArgs : undefined,
  };
  return sendMessage(deps, tenant, request);
}
