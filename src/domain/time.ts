/** Calendar arithmetic in UTC on epoch milliseconds. */

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
 * the year is known, the youngest possible age counts (DESIGN §3): until the
 * last day of the year the birthday may still be ahead.
 */
export function youngestAgeAt(birthYear: number, at: number): number {
  const date = new Date(at);
  const year = date.getUTCFullYear();
  const lastDayOfYear = date.getUTCMonth() === 11 && date.getUTCDate() === 31;
  return lastDayOfYear ? year - birthYear : year - birthYear - 1;
}
