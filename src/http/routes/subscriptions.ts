import type { Context } from "hono";
import { Hono } from "hono";
import * as v from "valibot";
import { topicInLocale } from "../../domain/topic.js";
import type { Deps } from "../../services/deps.js";
import { confirmSubscription } from "../../services/subscriptions/confirm-subscription.js";
import {
  type ConfirmationLink,
  openConfirmationLink,
} from "../../services/subscriptions/open-confirmation-link.js";
import { requestSubscription } from "../../services/subscriptions/request-subscription.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { ConfirmPage } from "../pages/confirm.js";
import { type Locale, TEXT } from "../pages/i18n.js";
import { NoticePage } from "../pages/layout.js";
import { limitForms, onLinkPage, PAGE_LIMITS, sourceOf } from "../pages/limits.js";
import { readForm, requestLocale, sendPage } from "../pages/respond.js";
import { Email, SubjectFactsBody, TopicId } from "../schemas.js";
import { validate } from "../validate.js";

const SubscriptionBody = v.strictObject({
  email: Email,
  topics: v.pipe(v.array(TopicId), v.minLength(1, "at least one topic")),
  source: v.optional(
    v.strictObject({
      method: v.optional(v.literal("double-opt-in")),
      url: v.optional(v.pipe(v.string(), v.url("must be a URL"), v.maxLength(2000))),
      ip: v.optional(v.pipe(v.string(), v.ip("must be an IP address"))),
      userAgent: v.optional(v.pipe(v.string(), v.maxLength(1000))),
    }),
    {},
  ),
  wording: v.strictObject({
    version: v.pipe(v.string(), v.trim(), v.nonEmpty("must not be empty"), v.maxLength(100)),
    // Not trimmed: its SHA-256 must be that of the exact text shown.
    text: v.pipe(
      v.string(),
      v.check((s) => s.trim().length > 0, "must not be empty"),
      v.maxLength(20_000, "at most 20000 characters"),
    ),
  }),
  subject: v.optional(SubjectFactsBody),
  locale: v.optional(v.picklist(["en", "cs"])),
  expiresInDays: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1, "at least 1"), v.maxValue(30, "at most 30")),
  ),
  from: v.optional(
    v.strictObject({ email: Email, name: v.optional(v.pipe(v.string(), v.maxLength(200))) }),
  ),
});

const SubscriptionResultSchema = v.object({
  subscriptionId: v.string(),
  expiresAt: v.string(),
  evidence: v.array(
    v.object({ id: v.string(), kind: v.string(), topic: v.nullable(v.string()), at: v.string() }),
  ),
  confirmation: v.object({
    messageId: v.string(),
    justificationId: v.string(),
    decision: v.picklist(["send", "suppress"]),
    reasons: v.array(v.string()),
    status: v.string(),
  }),
});

/**
 * Double opt-in (docs/design.md §5): `POST /v1/subscriptions` records pending
 * consents and sends the confirmation mail; `GET /c/{token}` shows what is
 * to be confirmed (and changes nothing); `POST /c/{token}` confirms.
 */
export function subscriptionRoutes(deps: Deps) {
  const openLink = (token: string) => openConfirmationLink(deps, token);
  const app = new Hono<AppEnv>();
  app.use("/c/*", limitForms());
  app.post(
    "/v1/subscriptions",
    documented({
      summary: "Start a double opt-in",
      description:
        "Records one pending consent per topic (method `double-opt-in`, with the wording's version and SHA-256 and the anonymised IP) and sends the person a confirmation mail through the normal delivery path, with its own justification (basis `contract`: a step at the person's request, GDPR Art. 6(1)(b)). The consent counts once the person confirms at `/c/{token}`; the link expires after `expiresInDays` (default 7). The link is never in the answer. At most 3 requests per address in 24 hours (`429 /problems/subscription-throttled`).",
      tag: "Evidence",
      auth: "evidence:write",
      status: 202,
      response: SubscriptionResultSchema,
    }),
    requireScope(deps, "evidence:write"),
    idempotent(deps),
    validate("json", SubscriptionBody),
    async (c) => {
      const result = await requestSubscription(deps, c.var.principal.tenant, c.req.valid("json"));
      return c.json(result, 202);
    },
  );
  app.get(
    "/c/:token",
    documented({
      summary: "Double opt-in confirmation page",
      description:
        "Shows the tenant, the topics and a confirm button; changes nothing (link scanners follow links). An expired link answers 410, a link that is not genuine 404.",
      tag: "Recipients",
      auth: "public",
    }),
    async (c) => {
      const locale = requestLocale(c);
      return onLinkPage(
        deps,
        c,
        locale,
        { open: openLink, bucket: "c-view", rule: PAGE_LIMITS.views },
        (link) => renderConfirmation(c, locale, link, link.status),
      );
    },
  );
  app.post(
    "/c/:token",
    documented({
      summary: "Confirm a double opt-in",
      description:
        "Records a `consent-confirmed` event per pending consent, with the time and the anonymised IP; the consents count from now on. Repeating it changes nothing.",
      tag: "Recipients",
      auth: "public",
    }),
    async (c) => {
      const form = await readForm(c);
      const locale = requestLocale(c, form);
      return onLinkPage(
        deps,
        c,
        locale,
        { open: openLink, bucket: "c-action", rule: PAGE_LIMITS.actions },
        async (link) => {
          const { status } = await confirmSubscription(deps, link, sourceOf(deps, c));
          return renderConfirmation(c, locale, link, status);
        },
      );
    },
  );
  return app;
}

function renderConfirmation(
  c: Context,
  locale: Locale,
  link: ConfirmationLink,
  status: ConfirmationLink["status"],
): Promise<Response> {
  if (status === "expired") {
    const t = TEXT[locale];
    return sendPage(
      c,
      410,
      NoticePage({
        locale,
        title: t.expiredTitle,
        body: t.expiredBody,
        brand: link.tenant.name,
        identity: link.tenant,
        contactEmail: link.tenant.contactEmail,
      }),
    );
  }
  return sendPage(
    c,
    200,
    ConfirmPage({
      locale,
      tenant: link.tenant,
      topics: link.topics.map((topic) => topicInLocale(topic, locale)),
      status,
    }),
  );
}
