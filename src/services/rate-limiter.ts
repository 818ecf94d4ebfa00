/**
 * An in-memory fixed-window rate limiter for the public pages (`/u`, `/c`).
 *
 * Edge-safe: no timers and no Node APIs, so the same code runs on Node (one
 * limiter per process) and on Workers (one per isolate). It is a brake on
 * abuse, not an accounting: counts are not shared between processes or
 * isolates, and a restart forgets them. That is the right trade here — the
 * pages must answer without a database round-trip for the limiter, and a
 * person's objection must never wait on one.
 */

export interface RateLimitOutcome {
  allowed: boolean;
  /** Seconds until the window ends (for `Retry-After`), when refused. */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one request under `key`; allowed while at most `limit` fall in the window. */
  hit(key: string, limit: number, windowMs: number): RateLimitOutcome;
}

interface Window {
  start: number;
  end: number;
  count: number;
}

/**
 * `maxKeys` bounds the memory: when it is reached, windows that have ended
 * are dropped, and if that is not enough the oldest keys go (a forgotten
 * key only starts counting afresh).
 */
export function fixedWindowLimiter(clock: () => number, maxKeys = 50_000): RateLimiter {
  const windows = new Map<string, Window>();

  function prune(now: number): void {
    for (const [key, window] of windows) if (window.end <= now) windows.delete(key);
    if (windows.size < maxKeys) return;
    const excess = windows.size - Math.floor(maxKeys * 0.9);
    let removed = 0;
    for (const key of windows.keys()) {
      if (removed++ >= excess) break;
      windows.delete(key);
    }
  }

  return {
    hit(key, limit, windowMs) {
      const now = clock();
      const start = Math.floor(now / windowMs) * windowMs;
      let window = windows.get(key);
      if (!window || window.start !== start) {
        if (!window && windows.size >= maxKeys) prune(now);
        window = { start, end: start + windowMs, count: 0 };
        windows.set(key, window);
      }
      window.count += 1;
      const allowed = window.count <= limit;
      return {
        allowed,
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((window.end - now) / 1000)),
      };
    },
  };
}
