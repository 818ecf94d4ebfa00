/**
 * The compliance dashboard (DESIGN §5 `/dashboard`): server-rendered, its CSS
 * inline (allowed by hash), its charts server-rendered SVG, and nothing
 * loaded from anywhere else — no CDN, no font, no script.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { DashboardStats, DayCount } from "../../services/dashboard/stats.js";

const STYLE = `
:root{color-scheme:light;--ink:#1a1a1a;--muted:#4a4a4a;--line:#c4c4c8;--accent:#1d4ed8;--danger:#a61b1b;--focus:#b45309}
*{box-sizing:border-box}
body{margin:0;background:#f4f4f5;color:var(--ink);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.page{max-width:72rem;margin:0 auto;padding:1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.25rem 0 1rem}
.brand{font-weight:700;font-size:1.125rem;margin:0}
main{display:grid;gap:1rem}
section{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.25rem}
h1{font-size:1.5rem;margin:0 0 .5rem}
h2{font-size:1.15rem;margin:0 0 .5rem}
p{margin:0 0 .75rem}
a{color:var(--accent)}
label{display:block;font-weight:600;margin:0 0 .25rem}
input[type=password]{font:inherit;width:100%;max-width:32rem;padding:.5rem;border:1px solid #666;border-radius:.375rem;margin:0 0 .75rem}
button,.button{display:inline-block;font:inherit;font-weight:600;min-height:2.75rem;padding:.6rem 1.1rem;border-radius:.375rem;border:2px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
.button.secondary,button.secondary{background:#fff;color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.error{border:2px solid var(--danger);color:var(--danger);border-radius:.375rem;padding:.5rem .75rem;font-weight:600}
.totals{display:flex;gap:2rem;flex-wrap:wrap}
.totals strong{font-size:1.5rem;display:block}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.5rem 0 0;font-size:.9rem}
figure{margin:0}
svg.chart{width:100%;height:auto;display:block}
svg.swatch{display:inline-block;width:.9rem;height:.9rem;margin-right:.35rem;vertical-align:-.1rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
.overdue{color:var(--danger);font-weight:600}
.exports{display:flex;flex-wrap:wrap;gap:.5rem}
`.trim();

const STYLE_HASH = btoa(String.fromCharCode(...sha256(new TextEncoder().encode(STYLE))));

export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  // Not "no-referrer": with it a browser sends `Origin: null` on the page's
  // own forms, and the Origin check against cross-site posts could not tell.
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "x-robots-tag": "noindex, nofollow",
};

function Page(props: { title: string; brand?: string; children?: Child }) {
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
          </header>
          <main>{props.children}</main>
        </div>
      </body>
    </html>
  );
}

export function SignInPage(props: { csrf: string; error?: string | undefined }) {
  return (
    <Page title="Sign in">
      <section>
        <h1>Compliance dashboard</h1>
        <p>Sign in with an API key that has the compliance:read scope.</p>
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <form method="post" action="/dashboard/sign-in">
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="key">API key</label>
          <input id="key" name="key" type="password" autocomplete="off" required />
          <div>
            <button type="submit">Sign in</button>
          </div>
        </form>
      </section>
    </Page>
  );
}

/** Colour-blind-safe palette (Okabe–Ito), text contrast aside. */
const COLOURS = [
  "#0072B2",
  "#D55E00",
  "#E69F00",
  "#CC79A7",
  "#009E73",
  "#56B4E9",
  "#000000",
  "#F0E442",
];

/**
 * A stacked bar chart, one bar per day, as SVG rendered on the server. It is
 * an image with a text alternative; the numbers are in a table beside it.
 */
export function BarChart(props: {
  title: string;
  days: string[];
  counts: DayCount[];
  order: string[];
}) {
  const width = 960;
  const height = 260;
  const left = 44;
  const bottom = 30;
  const top = 10;
  const plotHeight = height - bottom - top;
  const slot = (width - left - 10) / Math.max(1, props.days.length);
  const byDay = new Map<string, Map<string, number>>();
  for (const c of props.counts) {
    const day = byDay.get(c.day) ?? new Map<string, number>();
    day.set(c.series, (day.get(c.series) ?? 0) + c.count);
    byDay.set(c.day, day);
  }
  const series = [
    ...props.order.filter((s) => props.counts.some((c) => c.series === s)),
    ...[...new Set(props.counts.map((c) => c.series))]
      .filter((s) => !props.order.includes(s))
      .sort(),
  ];
  const colour = (s: string) => COLOURS[series.indexOf(s) % COLOURS.length] ?? "#000";
  const max = Math.max(
    1,
    ...[...byDay.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0)),
  );
  const scale = plotHeight / max;
  const total = props.counts.reduce((n, c) => n + c.count, 0);
  const summary = `${props.title}: ${total} in ${props.days.length} days${series.length ? `, ${series.map((s) => `${s} ${props.counts.filter((c) => c.series === s).reduce((n, c) => n + c.count, 0)}`).join(", ")}` : ""}.`;
  return (
    <figure>
      <svg
        class="chart"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={summary}
        xmlns="http://www.w3.org/2000/svg"
      >
        <title>{summary}</title>
        <line x1={left} y1={top + plotHeight} x2={width - 10} y2={top + plotHeight} stroke="#888" />
        <text x={left - 6} y={top + 10} text-anchor="end" font-size="12" fill="#333">
          {max}
        </text>
        <text x={left - 6} y={top + plotHeight} text-anchor="end" font-size="12" fill="#333">
          0
        </text>
        {props.days.map((day, i) => {
          let y = top + plotHeight;
          const counts = byDay.get(day);
          const x = left + i * slot + slot * 0.15;
          return (
            <g>
              {series.map((s) => {
                const n = counts?.get(s) ?? 0;
                if (n === 0) return null;
                const h = n * scale;
                y -= h;
                return (
                  <rect x={x} y={y} width={slot * 0.7} height={h} fill={colour(s)}>
                    <title>{`${day} ${s}: ${n}`}</title>
                  </rect>
                );
              })}
              {i % 5 === 0 || i === props.days.length - 1 ? (
                <text
                  x={x + slot * 0.35}
                  y={height - 10}
                  text-anchor="middle"
                  font-size="11"
                  fill="#333"
                >
                  {day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        {series.map((s) => (
          <li>
            <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">
              <rect width="10" height="10" rx="2" fill={colour(s)} />
            </svg>
            {s}
          </li>
        ))}
      </ul>
    </figure>
  );
}

export function DashboardPage(props: {
  brand: string;
  csrf: string;
  stats: DashboardStats;
  now: number;
}) {
  const { stats } = props;
  return (
    <Page title="Compliance dashboard" brand={props.brand}>
      <section>
        <h1>Compliance dashboard</h1>
        <div class="totals">
          <p>
            <strong>{stats.totals.sent}</strong> sent (30 days)
          </p>
          <p>
            <strong>{stats.totals.suppressed}</strong> suppressed (30 days)
          </p>
          <p>
            <strong>{stats.requests.filter((r) => r.completedAt === null).length}</strong> open
            data-subject requests
          </p>
        </div>
        <form method="post" action="/dashboard/sign-out">
          <input type="hidden" name="csrf" value={props.csrf} />
          <button type="submit" class="secondary">
            Sign out
          </button>
        </form>
      </section>
      <section aria-labelledby="decisions">
        <h2 id="decisions">Sent vs suppressed, by reason, per day</h2>
        <BarChart
          title="Decisions per day"
          days={stats.days}
          counts={stats.decisions}
          order={["sent"]}
        />
      </section>
      <section aria-labelledby="complaints">
        <h2 id="complaints">Objections and complaints over time</h2>
        <BarChart
          title="Objections and spam complaints per day"
          days={stats.days}
          counts={stats.complaints}
          order={["objection", "spam-complaint"]}
        />
      </section>
      <section aria-labelledby="requests">
        <h2 id="requests">Data-subject requests</h2>
        <p>GDPR Art. 12(3): each is answered within one month of receipt.</p>
        {stats.requests.length === 0 ? (
          <p>No requests yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Subject (keyed hash)</th>
                <th scope="col">Received</th>
                <th scope="col">Deadline</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {stats.requests.map((r) => (
                <tr>
                  <td>{r.kind}</td>
                  <td>
                    <code>{r.subject.slice(0, 12)}…</code>
                  </td>
                  <td>{r.receivedAt.slice(0, 10)}</td>
                  <td
                    class={
                      r.completedAt === null && Date.parse(r.deadline) < props.now
                        ? "overdue"
                        : undefined
                    }
                  >
                    {r.deadline.slice(0, 10)}
                  </td>
                  <td>{r.completedAt === null ? "open" : `done ${r.completedAt.slice(0, 10)}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="exports">
        <h2 id="exports">Export proofs</h2>
        <p>
          The whole proof log, verifiable offline with <code>npx grounds verify FILE</code>.
        </p>
        <div class="exports">
          <a class="button" href="/dashboard/export?format=csv" download>
            Download CSV
          </a>
          <a class="button secondary" href="/dashboard/export?format=ndjson" download>
            Download NDJSON
          </a>
        </div>
      </section>
    </Page>
  );
}
