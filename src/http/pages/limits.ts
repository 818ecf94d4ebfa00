import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Deps } from "../../services/deps.js";
import type { RequestSource } from "../../services/preferences/one-click-unsubscribe.js";
import type { Locale } from "./i18n.js";
import { clientIpOf, failed, notValid, tokenKeyOf, tooMany } from "./respond.js";

const MINUTE = 60_000;

/**
 * Limits of the public pages. Per client IP: generous, as many people may
 * share one address (a company's NAT, a mobile carrier). Per token: what a
 * person does with one link, several times over. The one-click POST with a
 * genuine token is exempt from the IP limit: RFC 8058 POSTs come from the
 * mailbox provider's servers, a few addresses carrying many people's
 * unsubscribes, and an objection must never be lost to a limit.
 */
export const PAGE_LIMITS = {
  perIp: { limit: 120, windowMs: MINUTE },
  views: { limit: 60, windowMs: 10 * MINUTE },
  actions: { limit: 30, windowMs: 10 * MINUTE },
  oneClick: { limit: 10, windowMs: 60 * MINUTE },
} as const;

export const TEXT_HEADERS = {
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** A one-click request or a page form is a few hundred bytes. */
const MAX_FORM_BYTES = 64 * 1024;

export function limitForms() {
  return bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: (c) => c.text("Payload Too Large", 413, TEXT_HEADERS),
  });
}

/** Where a page request came from, for the evidence (the IP is anonymised when stored). */
export function sourceOf(deps: Deps, c: Context): RequestSource {
  const ip = clientIpOf(deps, c);
  const userAgent = c.req.header("user-agent")?.slice(0, 1000);
  return { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) };
}

/** The per-IP limit of the pages; null when within it (or the IP is unknown). */
export function limitIp(deps: Deps, c: Context, locale: Locale): Promise<Response> | null {
  const ip = clientIpOf(deps, c);
  if (!ip) return null;
  const { limit, windowMs } = PAGE_LIMITS.perIp;
  const outcome = deps.rateLimiter.hit(`page-ip:${ip}`, limit, windowMs);
  return outcome.allowed ? null : tooMany(c, locale, outcome.retryAfterSeconds);
}

/** A per-token limit of the pages; null when within it. */
export function limitToken(
  deps: Deps,
  c: Context,
  locale: Locale,
  bucket: string,
  rule: { limit: number; windowMs: number },
): Promise<Response> | null {
  const key = `${bucket}:${tokenKeyOf(c.req.param("token") ?? "")}`;
  const outcome = deps.rateLimiter.hit(key, rule.limit, rule.windowMs);
  return outcome.allowed ? null : tooMany(c, locale, outcome.retryAfterSeconds);
}

/**
 * What every page behind a mailed link does around its own work (`/u`, `/c`):
 * the per-IP limit; the link opened from its token — one that is not genuine
 * answers the same 404 page, whatever the reason; the per-token limit; then
 * the page's work. Anything that fails answers the error page, never a trace.
 */
export async function onLinkPage<Link>(
  deps: Deps,
  c: Context,
  locale: Locale,
  page: {
    open: (token: string) => Promise<Link | null>;
    bucket: string;
    rule: { limit: number; windowMs: number };
  },
  work: (link: Link) => Promise<Response>,
): Promise<Response> {
  const refused = limitIp(deps, c, locale);
  if (refused) return refused;
  try {
    const link = await page.open(c.req.param("token") ?? "");
    if (!link) return await notValid(c, locale);
    const perToken = limitToken(deps, c, locale, page.bucket, page.rule);
    if (perToken) return perToken;
    return await work(link);
  } catch (error) {
    return failed(c, locale, error);
  }
}
