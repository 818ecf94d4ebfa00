import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { hasControlCharacters } from "../../domain/compliance/headers.js";
import { MAX_MAIL_BYTES } from "../../domain/sendgrid-mail.js";
import { PROBLEMS, ProblemError } from "../../problems.js";
import type { Deps } from "../../services/deps.js";
import { sendSendGridCompatible } from "../../services/messages/send-sendgrid-compatible.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { renderError } from "../problem.js";
import { Email } from "../schemas.js";
import { validate } from "../validate.js";

const Address = v.strictObject({ email: Email, name: v.optional(v.string()) });
const StringMap = v.record(v.string(), v.string("must be a string"));
/**
 * SendGrid carries `custom_args` and `categories` into the message's
 * `X-SMTPAPI` header and its events; a line break there would start a header
 * line of the caller's choosing (RFC 5322 §2.2, docs/design.md §4: no CR/LF in any
 * header field), so it is refused, not passed through.
 */
const HeaderText = v.pipe(
  v.string(),
  v.check(
    (text) => !hasControlCharacters(text),
    "contains a line break or another control character",
  ),
);
const HeaderTextMap = v.record(HeaderText, HeaderText);
const UnixTime = v.pipe(v.number(), v.integer("must be a Unix timestamp in whole seconds"));
/** A mail or tracking setting: `enable`, and the setting's own fields. */
const setting = <T extends v.ObjectEntries>(entries: T) =>
  v.optional(v.strictObject({ enable: v.optional(v.boolean()), ...entries }));
const optionalText = v.optional(v.string());

/**
 * SendGrid's v3 mail/send body, every documented field of it (Mail Send
 * reference; twilio/sendgrid-oai `tsg_mail_v3.yaml`), and nothing else: an
 * unknown field is refused, never ignored. What each field does through
 * Grounds is docs/sendgrid-drop-in.md's table, which a test walks against
 * the reference.
 */
export const SendGridMailBody = v.strictObject({
  personalizations: v.pipe(
    v.array(
      v.strictObject({
        to: v.pipe(v.array(Address), v.minLength(1, "at least one recipient")),
        cc: v.optional(v.array(Address)),
        bcc: v.optional(v.array(Address)),
        from: v.optional(Address),
        subject: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
        headers: v.optional(StringMap),
        substitutions: v.optional(StringMap),
        dynamic_template_data: v.optional(v.record(v.string(), v.unknown())),
        custom_args: v.optional(HeaderTextMap),
        send_at: v.optional(UnixTime),
      }),
    ),
    v.minLength(1, "at least one personalization"),
    v.maxLength(1000, "at most 1000 personalizations"),
  ),
  from: Address,
  reply_to: v.optional(Address),
  reply_to_list: v.optional(v.pipe(v.array(Address), v.maxLength(1000, "at most 1000"))),
  subject: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
  content: v.optional(
    v.array(
      v.strictObject({
        type: v.pipe(v.string(), v.minLength(1, "must not be empty")),
        value: v.pipe(v.string(), v.minLength(1, "must not be empty")),
      }),
    ),
  ),
  attachments: v.optional(
    v.array(
      v.strictObject({
        content: v.pipe(v.string(), v.minLength(1, "must not be empty")),
        filename: v.pipe(v.string(), v.minLength(1, "must not be empty")),
        type: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
        disposition: v.optional(v.picklist(["inline", "attachment"], "inline or attachment")),
        content_id: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
        // The official Node client sends an attachment's keys as given, and its types name
        // this one `contentId`: taken as `content_id`, which is what the caller meant.
        contentId: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
      }),
    ),
  ),
  template_id: v.optional(v.string()),
  headers: v.optional(StringMap),
  categories: v.optional(
    v.pipe(
      v.array(v.pipe(HeaderText, v.maxLength(255, "at most 255 characters"))),
      v.maxLength(10, "at most 10 categories"),
    ),
  ),
  custom_args: v.optional(HeaderTextMap),
  send_at: v.optional(UnixTime),
  batch_id: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a SendGrid batch id")),
  ),
  asm: v.optional(
    v.strictObject({
      group_id: v.pipe(v.number(), v.integer("must be an integer")),
      groups_to_display: v.optional(
        v.pipe(v.array(v.pipe(v.number(), v.integer())), v.maxLength(25, "at most 25")),
      ),
    }),
  ),
  ip_pool_name: v.optional(
    v.pipe(v.string(), v.minLength(2, "2 to 64 characters"), v.maxLength(64, "2 to 64 characters")),
  ),
  mail_settings: v.optional(
    v.strictObject({
      bypass_list_management: setting({}),
      bypass_spam_management: setting({}),
      bypass_bounce_management: setting({}),
      bypass_unsubscribe_management: setting({}),
      footer: setting({ text: optionalText, html: optionalText }),
      sandbox_mode: setting({}),
    }),
  ),
  tracking_settings: v.optional(
    v.strictObject({
      click_tracking: setting({ enable_text: v.optional(v.boolean()) }),
      open_tracking: setting({ substitution_tag: optionalText }),
      subscription_tracking: setting({
        text: optionalText,
        html: optionalText,
        substitution_tag: optionalText,
      }),
      ganalytics: setting({
        utm_source: optionalText,
        utm_medium: optionalText,
        utm_term: optionalText,
        utm_content: optionalText,
        utm_campaign: optionalText,
      }),
    }),
  ),
});

/**
 * A problem in SendGrid's own error shape (`{"errors":[{message, field,
 * help}]}`), so a tool written against SendGrid reads it as it would
 * SendGrid's; `help` carries the Grounds problem type.
 */
function sendGridError(error: Error, c: Parameters<typeof renderError>[1]): Response {
  if (!(error instanceof ProblemError)) return renderError(error, c);
  const message = error.detail ?? PROBLEMS[error.problem].title;
  const errors = error.errors?.length
    ? error.errors.map((e) => ({
        message: `${message} (${e.detail})`,
        field: e.pointer.replace(/^\//, "").replace(/\//g, "."),
        help: `/problems/${error.problem}`,
      }))
    : [{ message, field: null, help: `/problems/${error.problem}` }];
  return c.json({ errors }, error.status as 400);
}

export function sendGridRoutes(deps: Deps) {
  const app = new Hono<AppEnv>().post(
    "/v3/mail/send",
    documented({
      summary: "SendGrid-compatible mail/send",
      description:
        "A drop-in for SendGrid's v3 `POST /v3/mail/send`: point a SendGrid client at Grounds (base URL and key) and each recipient is decided; suppressed recipients are removed; the rest get the compliance footer and one-click unsubscribe. The topic comes from `custom_args.topic`, else the tenant's mapping of `categories` or `asm.group_id`. Every documented field is honoured or refused (docs/sendgrid-drop-in.md): attachments, headers, send_at, batch_id, categories, custom_args, reply_to(_list), ip_pool_name and tracking settings reach SendGrid; SendGrid's unsubscribe tags (`<%asm_group_unsubscribe_raw_url%>`, `[unsubscribe]`, …) become the recipient's Grounds links; `mail_settings.sandbox_mode` decides and proves every recipient, delivers nothing and answers `200` with an empty body, as SendGrid's sandbox does. Refused: `template_id`, `dynamic_template_data`, a per-personalization `from`, `asm.groups_to_display`, any `mail_settings.bypass_*` enabled, subscription tracking text, content types other than text/plain and text/html, unknown fields. Answers as SendGrid does: `202` with an empty body and `X-Message-Id`; errors as `{errors:[{message, field, help}]}`; a body over 30 MB `413`.",
      tag: "Sending",
      auth: "send",
      status: 202,
    }),
    bodyLimit({
      maxSize: MAX_MAIL_BYTES,
      // SendGrid's own answer to a mail over its limit (PostMailSend413).
      onError: (c) =>
        c.json({ errors: [{ message: "content too large", field: null, help: null }] }, 413),
    }),
    requireScope(deps, "send"),
    idempotent(deps),
    validate("json", SendGridMailBody),
    async (c) => {
      const result = await sendSendGridCompatible(
        deps,
        c.var.principal.tenant,
        c.req.valid("json"),
      );
      const headers = { "X-Message-Id": result.messageId ?? "" };
      // SendGrid's sandbox answers 200 with an empty body: the mail was valid, and nothing went.
      if (result.sandbox) return c.body(null, 200, headers);
      return c.body(null, 202, headers);
    },
  );
  app.onError(sendGridError);
  return app;
}
