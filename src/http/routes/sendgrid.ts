import { Hono } from "hono";
import * as v from "valibot";
import { hasControlCharacters } from "../../domain/compliance/headers.js";
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

const Address = v.object({ email: Email, name: v.optional(v.string()) });
const StringMap = v.record(v.string(), v.string());
/**
 * SendGrid carries `custom_args` and `categories` into the message's
 * `X-SMTPAPI` header and its events; a line break there would start a header
 * line of the caller's choosing (RFC 5322 §2.2, DESIGN §4: no CR/LF in any
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

/** SendGrid's v3 mail/send body: what Grounds reads; other fields are ignored. */
const SendGridMailBody = v.object({
  personalizations: v.pipe(
    v.array(
      v.object({
        to: v.pipe(v.array(Address), v.minLength(1, "at least one recipient")),
        cc: v.optional(v.array(Address)),
        bcc: v.optional(v.array(Address)),
        subject: v.optional(v.string()),
        substitutions: v.optional(StringMap),
        custom_args: v.optional(HeaderTextMap),
        send_at: v.optional(v.pipe(v.number(), v.integer())),
      }),
    ),
    v.minLength(1, "at least one personalization"),
    v.maxLength(1000, "at most 1000 personalizations"),
  ),
  from: Address,
  reply_to: v.optional(Address),
  subject: v.optional(v.string()),
  content: v.optional(v.array(v.object({ type: v.string(), value: v.string() }))),
  template_id: v.optional(v.string()),
  categories: v.optional(v.array(HeaderText)),
  custom_args: v.optional(HeaderTextMap),
  asm: v.optional(v.object({ group_id: v.pipe(v.number(), v.integer()) })),
  send_at: v.optional(v.pipe(v.number(), v.integer())),
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
        "A drop-in for SendGrid's v3 `POST /v3/mail/send`: point a SendGrid client at Grounds (base URL and key) and each recipient is decided; suppressed recipients are removed; the rest get the compliance footer and one-click unsubscribe. The topic comes from `custom_args.topic`, else the tenant's mapping of `categories` or `asm.group_id`. Answers as SendGrid does: `202` with an empty body and `X-Message-Id`; errors as `{errors:[{message, field, help}]}`. `template_id` is refused: SendGrid-side templates cannot carry the footer.",
      tag: "Sending",
      auth: "send",
      status: 202,
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
      return c.body(null, 202, { "X-Message-Id": result.messageId ?? "" });
    },
  );
  app.onError(sendGridError);
  return app;
}
