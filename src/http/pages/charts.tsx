/**
 * The workbench's charts: server-rendered SVG, each with its numbers in a
 * table beside it (the chart is an image with a text alternative; the table
 * is what a screen reader, a copy-paste or a phone reads).
 *
 * Colours are fixed per meaning, never per series order: "sent" is the same
 * green, an objection the same vermilion, a spam complaint the same purple
 * in every chart (Okabe–Ito's colour-blind-safe palette, extended by Tol's
 * for the rarer reasons).
 */
import type { DayCount } from "../../services/dashboard/stats.js";

export const MEANING_COLOURS: Readonly<Record<string, string>> = {
  sent: "#009E73",
  objected: "#D55E00",
  objection: "#D55E00",
  "spam-complaint": "#CC79A7",
  "complaint-rate": "#CC79A7",
  "no-basis": "#8C8C8C",
  "hard-bounce": "#000000",
  "consent-expired": "#E69F00",
  "consent-withdrawn": "#F0E442",
  restricted: "#56B4E9",
  erased: "#0072B2",
  "consent-unconfirmed": "#882255",
  "consent-minor": "#44AA99",
  minor: "#332288",
  "invalid-address": "#7A5C1E",
};

/** A meaning with no colour of its own (a reason added later) is a neutral grey, never a borrowed hue. */
export const colourOf = (series: string) => MEANING_COLOURS[series] ?? "#BDBDBD";

export function Swatch(props: { series: string }) {
  // An inline SVG, not a styled span: the page's CSP allows no inline style.
  return (
    <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">
      <rect width="10" height="10" fill={colourOf(props.series)} />
    </svg>
  );
}

/** Narrow enough that its labels stay readable when a phone shrinks it to 360 px. */
const WIDTH = 480;
const HEIGHT = 240;
const LEFT = 44;
const RIGHT = 8;
const TOP = 12;
const BOTTOM = 28;
const PLOT = HEIGHT - TOP - BOTTOM;
const FONT = 13;

function xLabels(days: readonly string[], slot: number) {
  return days.map((day, i) =>
    // Every 7th day and the last, never two labels on top of each other.
    (i % 7 === 0 && days.length - 1 - i >= 4) || i === days.length - 1 ? (
      <text
        x={LEFT + i * slot + slot / 2}
        y={HEIGHT - 8}
        text-anchor="middle"
        font-size={FONT}
        fill="#333"
      >
        {day.slice(5)}
      </text>
    ) : null,
  );
}

/** Series in a fixed order: the given ones first, the rest by name. */
export function seriesOf(counts: readonly DayCount[], order: readonly string[]): string[] {
  const present = new Set(counts.map((c) => c.series));
  return [
    ...order.filter((s) => present.has(s)),
    ...[...present].filter((s) => !order.includes(s)).sort(),
  ];
}

/** A stacked bar per day, and beside it the table of the same numbers. */
export function StackedBars(props: {
  id: string;
  title: string;
  days: readonly string[];
  counts: readonly DayCount[];
  order: readonly string[];
}) {
  const series = seriesOf(props.counts, props.order);
  const byDay = new Map<string, Map<string, number>>();
  for (const c of props.counts) {
    const day = byDay.get(c.day) ?? new Map<string, number>();
    day.set(c.series, (day.get(c.series) ?? 0) + c.count);
    byDay.set(c.day, day);
  }
  const total = (day: string) => [...(byDay.get(day)?.values() ?? [])].reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...props.days.map(total));
  const slot = (WIDTH - LEFT - RIGHT) / Math.max(1, props.days.length);
  const totals = series.map((s) => [
    s,
    props.counts.filter((c) => c.series === s).reduce((n, c) => n + c.count, 0),
  ]);
  const summary = `${props.title}, ${props.days.length} days: ${
    totals.length ? totals.map(([s, n]) => `${s} ${n}`).join(", ") : "none"
  }.`;
  const rows = [...props.days].reverse().filter((day) => total(day) > 0);
  return (
    <div class="pair">
      <figure>
        <svg
          class="chart"
          id={`${props.id}-chart`}
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          role="img"
          aria-label={summary}
          xmlns="http://www.w3.org/2000/svg"
        >
          <title>{summary}</title>
          <line x1={LEFT} y1={TOP + PLOT} x2={WIDTH - RIGHT} y2={TOP + PLOT} stroke="#666" />
          <text x={LEFT - 6} y={TOP + FONT - 2} text-anchor="end" font-size={FONT} fill="#333">
            {max}
          </text>
          <text x={LEFT - 6} y={TOP + PLOT} text-anchor="end" font-size={FONT} fill="#333">
            0
          </text>
          {props.days.map((day, i) => {
            let y = TOP + PLOT;
            return (
              <g>
                {series.map((s) => {
                  const n = byDay.get(day)?.get(s) ?? 0;
                  if (n === 0) return null;
                  const h = (n / max) * PLOT;
                  y -= h;
                  return (
                    <rect
                      x={LEFT + i * slot + slot * 0.1}
                      y={y}
                      width={slot * 0.8}
                      height={h}
                      fill={colourOf(s)}
                      data-series={s}
                    >
                      <title>{`${day} ${s}: ${n}`}</title>
                    </rect>
                  );
                })}
              </g>
            );
          })}
          {xLabels(props.days, slot)}
        </svg>
        <ul class="legend">
          {totals.map(([s]) => (
            <li>
              <Swatch series={String(s)} />
              {s}
            </li>
          ))}
        </ul>
      </figure>
      <div class="scroll">
        <table id={`${props.id}-table`}>
          <caption>{props.title} (days with any)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {series.map((s) => (
                <th scope="col" class="n">
                  <Swatch series={s} />
                  {s}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((day) => (
              <tr>
                <th scope="row">{day}</th>
                {series.map((s) => (
                  <td class="n">{byDay.get(day)?.get(s) ?? 0}</td>
                ))}
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              {totals.map(([, n]) => (
                <td class="n">{n}</td>
              ))}
            </tr>
          </tfoot>
        </table>
      </div>
    </div>
  );
}

const percent = (rate: number) => `${(rate * 100).toFixed(2)}%`;

/**
 * The daily spam-complaint rate against a limit (0.3%, the Gmail and Yahoo
 * bulk-sender rules of 2024), as bars with the limit drawn across, and the
 * table of sent, complaints and rate per day.
 */
export function RateBars(props: {
  id: string;
  title: string;
  rows: readonly { day: string; sent: number; complaints: number; rate: number | null }[];
  limit: number;
}) {
  const rates = props.rows.map((r) => r.rate ?? 0);
  const max = Math.max(props.limit * 2, ...rates);
  const slot = (WIDTH - LEFT - RIGHT) / Math.max(1, props.rows.length);
  const y = (rate: number) => TOP + PLOT - (rate / max) * PLOT;
  const over = props.rows.filter((r) => r.rate !== null && r.rate > props.limit);
  const summary = `${props.title}: ${over.length} of ${props.rows.length} days above the ${percent(props.limit)} limit.`;
  const days = props.rows.map((r) => r.day);
  return (
    <div class="pair">
      <figure>
        <svg
          class="chart"
          id={`${props.id}-chart`}
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          role="img"
          aria-label={summary}
          xmlns="http://www.w3.org/2000/svg"
        >
          <title>{summary}</title>
          <line x1={LEFT} y1={TOP + PLOT} x2={WIDTH - RIGHT} y2={TOP + PLOT} stroke="#666" />
          <text x={LEFT - 6} y={TOP + FONT - 2} text-anchor="end" font-size={FONT} fill="#333">
            {percent(max)}
          </text>
          <text x={LEFT - 6} y={TOP + PLOT} text-anchor="end" font-size={FONT} fill="#333">
            0
          </text>
          {props.rows.map((r, i) =>
            r.rate ? (
              <rect
                x={LEFT + i * slot + slot * 0.1}
                y={y(r.rate)}
                width={slot * 0.8}
                height={TOP + PLOT - y(r.rate)}
                fill={colourOf("complaint-rate")}
                data-series="complaint-rate"
              >
                <title>{`${r.day}: ${percent(r.rate)} (${r.complaints} of ${r.sent})`}</title>
              </rect>
            ) : null,
          )}
          <line
            x1={LEFT}
            x2={WIDTH - RIGHT}
            y1={y(props.limit)}
            y2={y(props.limit)}
            stroke="#a61b1b"
            stroke-width="2"
            stroke-dasharray="6 4"
          />
          <text
            x={WIDTH - RIGHT}
            y={y(props.limit) - 4}
            text-anchor="end"
            font-size={FONT}
            fill="#a61b1b"
          >
            {`limit ${percent(props.limit)}`}
          </text>
          {xLabels(days, slot)}
        </svg>
        <ul class="legend">
          <li>
            <Swatch series="complaint-rate" />
            spam complaints ÷ sent
          </li>
          <li>dashed red line: {percent(props.limit)} limit</li>
        </ul>
      </figure>
      <div class="scroll">
        <table id={`${props.id}-table`}>
          <caption>{props.title} (days with mail sent)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col" class="n">
                Sent
              </th>
              <th scope="col" class="n">
                Complaints
              </th>
              <th scope="col" class="n">
                Rate
              </th>
            </tr>
          </thead>
          <tbody>
            {[...props.rows]
              .reverse()
              .filter((r) => r.sent > 0 || r.complaints > 0)
              .map((r) => (
                <tr>
                  <th scope="row">{r.day}</th>
                  <td class="n">{r.sent}</td>
                  <td class="n">{r.complaints}</td>
                  <td class={r.rate !== null && r.rate > props.limit ? "n over" : "n"}>
                    {r.rate === null ? "–" : percent(r.rate)}
                    {r.rate !== null && r.rate > props.limit ? " (above limit)" : ""}
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
