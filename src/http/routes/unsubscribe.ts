import type { Context } from "hono";
import { Hono } from "hono";
import { loggableError, storageFaultOf } from "../../db/errors.js";
import { topicInLocale } from "../../domain/topic.js";
import type { Deps } from "../../services/deps.js";
import {
  changePreferences,
  type PreferenceAction,
} from "../../services/preferences/change-preferences.js";
import { oneClickUnsubscribe } from "../../services/preferences/one-click-unsubscribe.js";
import {
  openUnsubscribeLink,
  type UnsubscribeLink,
} from "../../services/preferences/open-unsubscribe-link.js";
import {
  type PreferenceState,
  preferenceState,
} from "../../services/preferences/preference-state.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import {
  everythingWordingText,
  grantWordingText,
  type Locale,
  objectionWordingText,
  TEXT,
  unsubscribeWordingText,
  wordingVersion,
} from "../pages/i18n.js";
import { limitForms, onLinkPage, PAGE_LIMITS, sourceOf, TEXT_HEADERS } from "../pages/limits.js";
import { PreferencesPage } from "../pages/preferences.js";
import {
  badRequest,
  clientIpOf,
  field,
  readForm,
  requestLocale,
  sendPage,
  tokenKeyOf,
} from "../pages/respond.js";
import { STORAGE_RETRY_AFTER_SECONDS } from "../problem.js";

/**
 * `/u/{token}` (docs/design.md §5): the page behind every unsubscribe link, and the
 * target of RFC 8058 one-click unsubscribes.
 *
 * `GET` and `HEAD` never change anything — link scanners and prefetchers
 * follow links (RFC 8058 §3.2: "MUST NOT" act on them). `POST` with the body
 * `List-Unsubscribe=One-Click` (urlencoded or multipart) records the
 * objection durably and then answers 200, with no redirect, cookie or login;
 * it touches nothing but the database, so it works with the provider down.
 * The page's own forms post to the same URL: the token is the capability.
 */
export function unsubscribeRoutes(deps: Deps) {
  const openLink = (token: string) => openUnsubscribeLink(deps, token);
  const app = new Hono<AppEnv>();
  app.use("/u/*", limitForms());
  app.get(
    "/u/:token",
    documented({
      summary: "Unsubscribe and preference page",
      description:
        "Server-rendered page (English or Czech, by `?lang=` or `Accept-Language`): the tenant, a one-button unsubscribe from the link's topic, every marketing topic with its current state, and “unsubscribe from everything”. `GET` and `HEAD` change nothing. A link that is not genuine answers the same 404 page whatever the reason.",
      tag: "Recipients",
      auth: "public",
    }),
    async (c) => {
      const locale = requestLocale(c);
      return onLinkPage(
        deps,
        c,
        locale,
        { open: openLink, bucket: "u-view", rule: PAGE_LIMITS.views },
        async (link) => renderPage(c, locale, link, await preferenceState(deps, link)),
      );
    },
  );
  app.post(
    "/u/:token",
    documented({
      summary: "One-click unsubscribe (RFC 8058), and the page's forms",
      description:
        "With the body `List-Unsubscribe=One-Click` (`application/x-www-form-urlencoded` or `multipart/form-data`), as mailbox providers send it: records an objection to the link's topic (channel `one-click`) before answering `200 text/plain`; no redirect, cookie or login. The page's forms (`intent=unsubscribe|unsubscribe-all|save`) record objections and consents with channel/method `preference-center` and answer the updated page.",
      tag: "Recipients",
      auth: "public",
    }),
    async (c) => {
      const form = await readForm(c);
      const locale = requestLocale(c, form);
      if (field(form, "List-Unsubscribe") === "One-Click") return oneClick(deps, c, locale);
      return onLinkPage(
        deps,
        c,
        locale,
        { open: openLink, bucket: "u-action", rule: PAGE_LIMITS.actions },
        async (link) => {
          const action = actionOf(form, locale, link);
          if (!action) return await badRequest(c, locale);
          const change = await changePreferences(deps, link, action, sourceOf(deps, c));
          const t = TEXT[locale];
          const status =
            action.kind === "unsubscribe"
              ? t.unsubscribed(topicInLocale(link.topic, locale).name)
              : action.kind === "unsubscribe-all"
                ? t.unsubscribedAll
                : change.recorded.length > 0
                  ? t.saved
                  : t.nothingChanged;
          return renderPage(c, locale, link, change.state, status);
        },
      );
    },
  );
  return app;
}

/** RFC 8058 §3.2: the objection is recorded before the answer; 200, no redirect. */
async function oneClick(deps: Deps, c: Context, locale: Locale): Promise<Response> {
  try {
    const link = await openUnsubscribeLink(deps, c.req.param("token") ?? "");
    if (!link) {
      // Only requests that are not genuine count against the client's IP.
      const ip = clientIpOf(deps, c);
      const { limit, windowMs } = PAGE_LIMITS.perIp;
      const outcome = ip ? deps.rateLimiter.hit(`page-ip:${ip}`, limit, windowMs) : null;
      if (outcome && !outcome.allowed) {
        return c.text("Too Many Requests", 429, {
          ...TEXT_HEADERS,
          "retry-after": String(outcome.retryAfterSeconds),
        });
      }
      return c.text(TEXT[locale].invalidTitle, 404, TEXT_HEADERS);
    }
    const { limit, windowMs } = PAGE_LIMITS.oneClick;
    const outcome = deps.rateLimiter.hit(
      `u-oneclick:${tokenKeyOf(c.req.param("token") ?? "")}`,
      limit,
      windowMs,
    );
    if (!outcome.allowed) {
      return c.text("Too Many Requests", 429, {
        ...TEXT_HEADERS,
        "retry-after": String(outcome.retryAfterSeconds),
      });
    }
    await oneClickUnsubscribe(deps, link, sourceOf(deps, c));
    return c.text(
      TEXT[locale].oneClickDone(topicInLocale(link.topic, locale).name),
      200,
      TEXT_HEADERS,
    );
  } catch (error) {
    // Not recorded: say so, so that the mailbox provider tries again — after
    // Retry-After when storage is only unavailable for now.
    console.error(`[grounds] one-click unsubscribe: ${loggableError(error)}`);
    if (storageFaultOf(error)) {
      return c.text("Service Unavailable", 503, {
        ...TEXT_HEADERS,
        "retry-after": String(STORAGE_RETRY_AFTER_SECONDS),
      });
    }
    return c.text("Internal Server Error", 500, TEXT_HEADERS);
  }
}

function actionOf(
  form: Record<string, string | string[]>,
  locale: Locale,
  link: UnsubscribeLink,
): PreferenceAction | null {
  const version = wordingVersion(locale);
  const legalName = link.tenant.legalName;
  switch (field(form, "intent")) {
    case "unsubscribe":
      return {
        kind: "unsubscribe",
        wording: {
          version,
          text: unsubscribeWordingText(locale, legalName, topicInLocale(link.topic, locale).name),
        },
      };
    case "unsubscribe-all":
      return {
        kind: "unsubscribe-all",
        wording: { version, text: everythingWordingText(locale, legalName) },
      };
    case "save": {
      const ticked = form.topic;
      return {
        kind: "save",
        receive: ticked === undefined ? [] : Array.isArray(ticked) ? ticked : [ticked],
        grantWording: (topic) => ({
          version,
          text: grantWordingText(locale, legalName, topicInLocale(topic, locale)),
        }),
        objectionWording: (topic) => ({
          version,
          text: objectionWordingText(locale, topicInLocale(topic, locale)),
        }),
      };
    }
    default:
      return null;
  }
}

function renderPage(
  c: Context,
  locale: Locale,
  link: UnsubscribeLink,
  state: PreferenceState,
  status?: string,
): Promise<Response> {
  return sendPage(
    c,
    200,
    PreferencesPage({
      locale,
      tenant: link.tenant,
      // Names and descriptions in the page's language (the tenant's translations, else the default).
      topic: topicInLocale(link.topic, locale),
      topics: state.topics.map((p) => ({ ...p, topic: topicInLocale(p.topic, locale) })),
      blocked: state.blocked,
      status,
    }),
  );
}
