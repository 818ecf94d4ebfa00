/**
 * The one layout of the recipient pages (`/u`, `/c`): server-rendered, with
 * its CSS inline and nothing loaded from anywhere else (no CDN, no fonts, no
 * script, no tracking), so it works without JavaScript, offline from any
 * third party, and leaks no visit to anyone. Readable on a phone (fluid
 * width, 44 px targets), keyboard-usable (visible focus), and with text
 * contrast of at least 4.5:1 (WCAG 2.2 SC 1.4.3).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { type Locale, TEXT } from "./i18n.js";

const STYLE = `
:root{color-scheme:light;--ink:#1a1a1a;--muted:#454545;--line:#c4c4c8;--soft:#e4e4e7;--accent:#1d4ed8;--danger:#a61b1b;--ok:#1e6b3e;--ok-bg:#e8f5ed;--focus:#b45309}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f4f4f5;color:var(--ink);font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:40rem;margin:0 auto;padding:1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.25rem 0 1rem}
.brand{font-weight:700;font-size:1.125rem;margin:0}
nav ul{list-style:none;display:flex;gap:1rem;margin:0;padding:0}
nav a{display:inline-block;padding:.5rem .25rem}
nav a[aria-current]{color:var(--ink);font-weight:600;text-decoration:none}
main{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:1.25rem 1.25rem 1.5rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}
h2{font-size:1.2rem;line-height:1.3;margin:0 0 .5rem}
p{margin:0 0 1rem}
section+section{border-top:1px solid var(--line);margin-top:1.5rem;padding-top:1.25rem}
a{color:var(--accent);text-underline-offset:.15em}
form{margin:0}
button{font:inherit;font-weight:600;line-height:1.3;min-height:2.75rem;padding:.6rem 1.1rem;border-radius:.375rem;border:2px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button:hover{background:#1e40af;border-color:#1e40af}
button.secondary{background:#fff;color:var(--accent)}
button.secondary:hover{background:#eef2ff}
button.danger{background:#fff;color:var(--danger);border-color:var(--danger)}
button.danger:hover{background:#fdf0f0}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
fieldset{border:1px solid var(--line);border-radius:.375rem;margin:0 0 1rem;padding:.25rem 1rem .5rem}
legend{font-weight:600;padding:0 .25rem}
.topic{display:flex;gap:.75rem;align-items:flex-start;padding:.75rem 0}
.topic+.topic{border-top:1px solid var(--soft)}
.topic input{width:1.5rem;height:1.5rem;margin:.1rem 0 0;flex:none;accent-color:var(--accent)}
.topic .text{flex:1}
.topic label{display:block;cursor:pointer}
.name{display:block;font-weight:600}
.desc,.state{display:block;color:var(--muted);font-size:.95rem}
.hint{color:var(--muted)}
.status{border:2px solid var(--ok);background:var(--ok-bg);color:var(--ink);border-radius:.375rem;padding:.75rem 1rem;margin:0 0 1.25rem;font-weight:600}
.status:focus{outline:none}
.status h1{margin:0;font-size:1.35rem}
ul.topics{margin:0 0 1rem;padding-left:1.25rem}
footer{color:var(--muted);font-size:.875rem;padding:1rem .25rem}
footer p{margin:0 0 .25rem}
@media (max-width:30rem){.page{padding:.75rem}main{padding:1rem}button{width:100%}}
`.trim();

/**
 * The CSP allows exactly this stylesheet and nothing else: no script can
 * run on a page that holds a capability (the token) in its URL.
 */
const STYLE_HASH = btoa(String.fromCharCode(...sha256(new TextEncoder().encode(STYLE))));

/** Headers of every recipient page. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  // The token in the URL must not travel to another site in a Referer.
  "referrer-policy": "no-referrer",
  // Personal state: not for shared caches, nor for the back button of a shared computer.
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "x-robots-tag": "noindex, nofollow",
};

export interface LayoutProps {
  locale: Locale;
  title: string;
  /** The tenant's name, when the link is genuine (never on a refusal). */
  brand?: string | undefined;
  /** The tenant's identity for the footer (GDPR Art. 13(1)(a)). */
  identity?: { legalName: string; address: string; registrationId: string } | undefined;
  contactEmail?: string | undefined;
  children?: Child;
}

export function Layout(props: LayoutProps) {
  const t = TEXT[props.locale];
  const title = props.brand ? `${props.title} – ${props.brand}` : props.title;
  return (
    <html lang={props.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <meta name="referrer" content="no-referrer" />
        <title>{title}</title>
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <div class="page">
          <header>
            {props.brand ? <p class="brand">{props.brand}</p> : <span />}
            <nav aria-label={t.languageSwitch}>
              <ul>
                {(["en", "cs"] as const).map((locale) => (
                  <li>
                    <a
                      href={`?lang=${locale}`}
                      lang={locale}
                      hreflang={locale}
                      aria-current={locale === props.locale ? "true" : undefined}
                    >
                      {TEXT[locale].languageName}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          </header>
          <main>{props.children}</main>
          {props.identity ? (
            <footer>
              <p>{t.operatedBy(props.identity)}</p>
              {props.contactEmail ? <p>{t.contact(props.contactEmail)}</p> : null}
            </footer>
          ) : null}
        </div>
      </body>
    </html>
  );
}

/** A page that only says something: a refusal, an expiry, a failure. */
export function NoticePage(props: Omit<LayoutProps, "children"> & { body: string }) {
  return (
    <Layout {...props}>
      <h1>{props.title}</h1>
      <p>{props.body}</p>
    </Layout>
  );
}
