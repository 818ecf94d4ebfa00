/**
 * The layout of the operator's and compliance staff's pages (`GET /`, the
 * `/dashboard` workbench): server-rendered, its CSS inline (allowed by its
 * hash), no script, no font, nothing loaded from anywhere else. Readable on a
 * 390 px phone: one column, tables scroll inside their own box, 44 px
 * targets, visible focus, text contrast of at least 4.5:1 (WCAG 2.2).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { raw } from "hono/html";
import type { Child } from "hono/jsx";

const STYLE = `
:root{color-scheme:light;--ink:#1a1a1a;--muted:#4a4a4a;--line:#c4c4c8;--soft:#ececef;--accent:#1d4ed8;--danger:#a61b1b;--ok:#1e6b3e;--focus:#b45309}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f4f4f5;color:var(--ink);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.page{max-width:76rem;margin:0 auto;padding:1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.25rem 0 .75rem}
.brand{font-weight:700;font-size:1.125rem;margin:0}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem .75rem;margin:0;padding:0}
nav a{display:inline-block;padding:.5rem .25rem;min-height:2.75rem}
nav a[aria-current]{color:var(--ink);font-weight:700;text-decoration:none}
main{display:grid;gap:1rem;min-width:0}
section{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.25rem;min-width:0}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .5rem}
h2{font-size:1.15rem;margin:0 0 .5rem}
h3{font-size:1rem;margin:1rem 0 .25rem}
p{margin:0 0 .75rem}
a{color:var(--accent);text-underline-offset:.15em}
label{display:block;font-weight:600;margin:0 0 .25rem}
input,select{font:inherit;width:100%;max-width:32rem;min-height:2.75rem;padding:.5rem;border:1px solid #666;border-radius:.375rem;margin:0 0 .75rem;background:#fff;color:var(--ink)}
button,.button{display:inline-block;font:inherit;font-weight:600;min-height:2.75rem;padding:.6rem 1.1rem;border-radius:.375rem;border:2px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;text-align:center}
.button.secondary,button.secondary{background:#fff;color:var(--accent)}
button.danger{background:#fff;color:var(--danger);border-color:var(--danger)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.error{border:2px solid var(--danger);color:var(--danger);border-radius:.375rem;padding:.5rem .75rem;font-weight:600}
.notice{border:2px solid var(--ok);border-radius:.375rem;padding:.5rem .75rem;font-weight:600}
.muted{color:var(--muted)}
.totals{display:flex;gap:.5rem 2rem;flex-wrap:wrap}
.totals p{margin:0 0 .5rem}
.totals strong{font-size:1.5rem;display:block}
.row{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
.row>div{flex:1 1 12rem;min-width:0}
.pair{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem;align-items:start}
@media (max-width:48rem){.pair{grid-template-columns:minmax(0,1fr)}}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.5rem 0 0;font-size:.95rem}
figure{margin:0}
svg.chart{width:100%;height:auto;display:block}
.swatch{display:inline-block;width:.9rem;height:.9rem;margin-right:.35rem;vertical-align:-.1rem;border-radius:2px;border:1px solid #0003}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:0 0 .25rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tbody th[scope=row],tfoot th[scope=row]{white-space:nowrap;font-weight:600}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:.5rem;border-radius:.25rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
.overdue{color:var(--danger);font-weight:600}
.over{color:var(--danger);font-weight:700}
.actions{display:flex;flex-wrap:wrap;gap:.5rem}
ol.timeline{list-style:none;margin:0;padding:0}
ol.timeline>li{border-left:4px solid var(--line);padding:.5rem 0 .75rem .9rem;margin:0 0 .5rem}
ol.timeline>li.send{border-left-color:#1e6b3e}
ol.timeline>li.suppress{border-left-color:#a61b1b}
ol.timeline>li.evidence{border-left-color:#5b5b66}
.tag{display:inline-block;font-size:.85rem;font-weight:700;border-radius:.25rem;padding:0 .4rem;border:1px solid currentColor}
.tag.send{color:#1e6b3e}.tag.suppress{color:#a61b1b}
details{margin:.25rem 0}
summary{cursor:pointer;min-height:2.75rem;padding:.6rem 0;font-weight:600;color:var(--accent)}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem .75rem;margin:.25rem 0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
@media (max-width:30rem){.page{padding:.5rem}section{padding:.75rem}h1{font-size:1.3rem}}
`.trim();

const STYLE_HASH = btoa(String.fromCharCode(...sha256(new TextEncoder().encode(STYLE))));

/** Headers of every staff page: only its own stylesheet may apply, nothing may load. */
export const STAFF_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  // Not "no-referrer": with it a browser sends `Origin: null` on the page's
  // own forms, and the Origin check against cross-site posts could not tell.
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "x-robots-tag": "noindex, nofollow",
};

export function StaffPage(props: {
  title: string;
  brand?: string | undefined;
  /** The workbench's sections, when signed in. */
  nav?: { href: string; label: string; current?: boolean }[] | undefined;
  children?: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{props.title} – Grounds</title>
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <div class="page">
          <header>
            <p class="brand">Grounds{props.brand ? ` · ${props.brand}` : ""}</p>
            {props.nav ? (
              <nav aria-label="Workbench">
                <ul>
                  {props.nav.map((item) => (
                    <li>
                      <a href={item.href} aria-current={item.current ? "page" : undefined}>
                        {item.label}
                      </a>
                    </li>
                  ))}
                </ul>
              </nav>
            ) : null}
          </header>
          <main>{props.children}</main>
        </div>
      </body>
    </html>
  );
}
