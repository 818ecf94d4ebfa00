/** Calendar arithmetic in UTC on epoch milliseconds. */

export const DAY_MS = 86_400_000;

/**
 * How far ahead of the gateway's clock evidence may be dated: a few minutes
 * of clock skew between the caller and the gateway (docs/design.md §2 "When an event
 * happened"). Further ahead, it has not happened: refused.
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The earliest date evidence may carry: before it, a date is a mistake (a zero, a wrong unit). */
export const EARLIEST_EVIDENCE = Date.UTC(1990, 0, 1);

/**
 * Whether evidence dated `at` may be recorded at `now`: not more than
 * CLOCK_SKEW_MS ahead, not before 1990. Null when it may; else why not.
 */
export function evidenceTimeProblem(at: number, now: number): string | null {
  if (!Number.isFinite(at)) return "not a time";
  if (at > now + CLOCK_SKEW_MS) {
    return `more than ${CLOCK_SKEW_MS / 60_000} minutes ahead of the gateway's clock`;
  }
  if (at < EARLIEST_EVIDENCE) return "before 1990";
  return null;
}

/** `at` plus `months` calendar months (the 31st clamps to the month's end). */
export function addMonths(at: number, months: number): number {
  const date = new Date(at);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, lastDay));
  return date.getTime();
}

export function isoTime(at: number): string {
  return new Date(at).toISOString();
}

/**
 * The youngest age a person born in `birthYear` can have at `at`. Where only
 * the year is known, the youngest possible age counts (docs/design.md §3): until the
 * last day of the year the birthday may still be ahead.
 */
export function youngestAgeAt(birthYear: number, at: number): number {
  const date = new Date(at);
  const year = date.getUTCFullYear();
  const lastDayOfYear = date.getUTCMonth() === 11 && date.getUTCDate() === 31;
  return lastDayOfYear ? year - birthYear : year - birthYear - 1;
}
