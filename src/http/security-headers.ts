import { createMiddleware } from "hono/factory";

/**
 * Headers of the gateway's own pages that are not recipient pages
 * (pages/layout.tsx has those): `/docs` and `/outbox`. Neither may be framed
 * by another site (clickjacking: the outbox holds an API key typed into it),
 * and each may load only what it needs, from this origin.
 */
const FRAME_PROTECTION = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
} as const;

/**
 * The SHA-256 of an empty inline script: `/docs` carries Scalar's
 * configuration as an empty `<script id="api-reference" data-…>` element,
 * which the browser treats as an inline script to run.
 */
const EMPTY_SCRIPT_HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/**
 * `/docs`: Scalar's bundle, served from this origin (`/docs/scalar.js`),
 * fetches `/openapi.json` and injects its own style elements and inline
 * styles; it loads no font and no script from elsewhere.
 */
export const DOCS_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'none'",
    `script-src 'self' '${EMPTY_SCRIPT_HASH}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; "),
  ...FRAME_PROTECTION,
};

/**
 * `/outbox`: its one inline script (by hash), `fetch` to this origin, and the
 * mail it shows in sandboxed `srcdoc` frames — which inherit this policy, so
 * a mail's own styles and images (`https:`) are allowed, and no script.
 */
export function outboxHeaders(scriptHash: string): Readonly<Record<string, string>> {
  return {
    "content-security-policy": [
      "default-src 'none'",
      `script-src 'sha256-${scriptHash}'`,
      "style-src 'unsafe-inline'",
      "img-src 'self' data: https:",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join("; "),
    // The page is a shell; what it shows is fetched with the key, never cached.
    "cache-control": "no-store",
    ...FRAME_PROTECTION,
  };
}

/** Sets `headers` on the answer of the routes it is mounted on. */
export function withHeaders(headers: Readonly<Record<string, string>>) {
  return createMiddleware(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  });
}
