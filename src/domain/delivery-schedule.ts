/**
 * When the delivery queue hands a chunk over again (docs/design.md §7). Pure: the
 * services decide with it, then write.
 *
 * - A provider outage (no connection, 429, 5xx: nothing was accepted) is
 *   retried with exponential backoff and full jitter — 1 min, 2, 4, … up to
 *   30 min between tries, never sooner than the provider's Retry-After — for
 *   `RETRY_WINDOW_MS` from the first hand-over; then the chunk is `failed`.
 * - An outcome that cannot be known (timeout, reset after the request left)
 *   is `unknown` and is settled from the provider's events: any event for a
 *   recipient of the chunk (`processed`, `delivered`, `dropped`, … carry the
 *   justification id in `custom_args`) proves the provider took it. With none
 *   after `UNKNOWN_QUIET_MS`, and only once events are seen arriving for the
 *   tenant after the chunk went unknown (so the event webhook works and would
 *   have told), the chunk is handed over again. Without a working event
 *   webhook an unknown chunk stays unknown: sending it twice is worse.
 */

/** How long an outage is retried before a chunk is `failed`: at least 6 hours (issue #16). */
export const RETRY_WINDOW_MS = 6 * 60 * 60_000;

/**
 * How long an unknown chunk waits for the provider's events. SendGrid posts
 * its events within about 30 seconds of them, batched, and retries a failed
 * post; an hour leaves room for a gateway that was itself restarting.
 */
export const UNKNOWN_QUIET_MS = 60 * 60_000;

const FIRST_RETRY_MS = 60_000;
const LONGEST_WAIT_MS = 30 * 60_000;

/**
 * The wait before the next hand-over after `attempts` failed ones:
 * exponential with full jitter (`random` in [0, 1)), never shorter than the
 * provider's hint, never longer than 30 minutes.
 */
export function retryDelayMs(attempts: number, hintMs: number | null, random: number): number {
  const ceiling = Math.min(LONGEST_WAIT_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
  // Full jitter, but not below a tenth of the ceiling: a retry storm needs some spread, not zero.
  const jittered = ceiling * (0.1 + 0.9 * random);
  return Math.round(Math.min(LONGEST_WAIT_MS, Math.max(hintMs ?? 0, jittered)));
}

/** Whether a chunk whose first hand-over began at `firstAttemptAt` may still be retried at `now`. */
export function withinRetryWindow(firstAttemptAt: number, now: number): boolean {
  return now - firstAttemptAt < RETRY_WINDOW_MS;
}
