import type { Context } from "hono";
import { html } from "hono/html";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { loggableError, storageFaultOf } from "../../db/errors.js";
import type { Deps } from "../../services/deps.js";
import { STORAGE_RETRY_AFTER_SECONDS } from "../problem.js";
import { type Locale, pageLocale, TEXT } from "./i18n.js";
import { NoticePage, PAGE_HEADERS } from "./layout.js";

/** Answers a page: the document, with the pages' security headers (layout.tsx). */
export async function sendPage(
  c: Context,
  status: ContentfulStatusCode,
  node: JSX.Element,
  headers: Record<string, string> = {},
): Promise<Response> {
  const document = await html`<!DOCTYPE html>${node}`;
  return c.html(document.toString(), status, { ...PAGE_HEADERS, ...headers });
}

/**
 * The refusal of every link that is not genuine — forged, damaged, expired,
 * of a tenant this gateway does not have. One page for all of them, in the
 * language of the request alone, so it says nothing about any address.
 */
export function notValid(c: Context, locale: Locale): Promise<Response> {
  const t = TEXT[locale];
  return sendPage(c, 404, NoticePage({ locale, title: t.invalidTitle, body: t.invalidBody }));
}

export function tooMany(c: Context, locale: Locale, retryAfterSeconds: number): Promise<Response> {
  const t = TEXT[locale];
  return sendPage(c, 429, NoticePage({ locale, title: t.tooManyTitle, body: t.tooManyBody }), {
    "retry-after": String(retryAfterSeconds),
  });
}

export function failed(c: Context, locale: Locale, error: unknown): Promise<Response> {
  const t = TEXT[locale];
  if (storageFaultOf(error)) {
    console.error(
      `[grounds] ${c.req.method} ${c.req.routePath}: storage unavailable: ${loggableError(error)}`,
    );
    return sendPage(c, 503, NoticePage({ locale, title: t.errorTitle, body: t.errorBody }), {
      "retry-after": String(STORAGE_RETRY_AFTER_SECONDS),
    });
  }
  console.error(`[grounds] ${c.req.method} ${c.req.routePath}: ${loggableError(error)}`);
  return sendPage(c, 500, NoticePage({ locale, title: t.errorTitle, body: t.errorBody }));
}

export function badRequest(c: Context, locale: Locale): Promise<Response> {
  const t = TEXT[locale];
  return sendPage(c, 400, NoticePage({ locale, title: t.badRequestTitle, body: t.badRequestBody }));
}

/** The client's IP as the runtime knows it; never a header a client may set itself. */
export function clientIpOf(deps: Deps, c: Context): string | null {
  if (deps.clientIp) return deps.clientIp(c);
  return c.req.header("cf-connecting-ip") ?? null;
}

/**
 * A short, stable key for a token in the rate limiter: its last 22
 * characters, which encode most of its 128-bit tag (unique per token).
 */
export function tokenKeyOf(token: string): string {
  return token.slice(-22);
}

/** A form's fields as text, repeated fields as lists; files are ignored. */
export async function readForm(c: Context): Promise<Record<string, string | string[]>> {
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    return {};
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") out[name] = value;
    else if (Array.isArray(value)) out[name] = value.filter((v) => typeof v === "string");
  }
  return out;
}

/** The first value of a form field. */
export function field(form: Record<string, string | string[]>, name: string): string | undefined {
  const value = form[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The language of a page's answer: `?lang=`, else the form's `lang` (the
 * page's own forms carry it), else `Accept-Language` (pageLocale).
 */
export function requestLocale(c: Context, form?: Record<string, string | string[]>): Locale {
  return pageLocale(
    c.req.query("lang") ?? (form ? field(form, "lang") : undefined),
    c.req.header("accept-language"),
  );
}
