/**
 * Reading instants from text, strictly. `Date.parse` rolls impossible dates
 * over ("2023-02-30" becomes 2 March) and reads a time without a zone in the
 * machine's zone; evidence dated by such a guess would be wrong evidence, so
 * the calendar fields are checked here and the zone is never the machine's.
 */

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:\s*(?:([Zz]|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?(?:\s+[A-Za-z][A-Za-z0-9+-]{0,9})?))?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Whether the calendar fields at the start of an ISO-like timestamp exist:
 * month 1–12, a day the month has, hour 0–23, minute and second 0–59.
 */
export function hasValidCalendarFields(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (!match) return false;
  const [, y, mo, d, h, mi, s] = match.map((part) =>
    part === undefined ? undefined : Number(part),
  );
  if (y === undefined || mo === undefined || d === undefined) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return false;
  if (h !== undefined && h > 23) return false;
  if (mi !== undefined && mi > 59) return false;
  return s === undefined || s <= 59;
}

export type InstantReading =
  | { ok: true; at: number; zoned: boolean }
  | { ok: false; reason: "not-a-time" | "impossible-date" };

/**
 * Reads `2024-03-05`, `2024-03-05T10:11:12Z`, `2024-03-05 10:11:12`,
 * `2024-03-05T10:11:12.5+01:00`, `2024-03-05 10:11:12 +0100`, and Go's
 * `2024-03-05 10:11:12.345678 +0000 UTC` (listmonk's exports). A date alone
 * is midnight UTC; a time without a zone is read as UTC and said to be so
 * (`zoned: false`), for the caller to accept or refuse.
 */
export function readInstant(raw: string): InstantReading {
  const text = raw.trim();
  const match = DATE_TIME.exec(text);
  if (!match) return { ok: false, reason: "not-a-time" };
  if (!hasValidCalendarFields(text)) return { ok: false, reason: "impossible-date" };
  const [, y, mo, d, h, mi, s, fraction, utc, sign, offH, offM] = match;
  const offsetHours = Number(offH ?? 0);
  const offsetMinutes = Number(offM ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return { ok: false, reason: "impossible-date" };
  const ms = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
  const local = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h ?? 0),
    Number(mi ?? 0),
    Number(s ?? 0),
    ms,
  );
  const offset = (sign === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const zoned = h === undefined || utc !== undefined || sign !== undefined;
  return { ok: true, at: local - offset, zoned };
}
