import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` is the pure core (rule sets, the decision, message
 * compliance, tokens, hashing) — no database, no server, seconds to run
 * (`npm run test:unit`); `integration` is everything else, on real libSQL
 * files, real Chromium and workerd. `npm test` runs both.
 */
const UNIT = ["test/domain/**/*.test.ts", "test/compliance/**/*.test.ts", "test/config.test.ts"];

export default defineConfig({
  test: {
    // Each test file opens its own database file, so files run in parallel.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "unit", include: UNIT } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: UNIT,
          // The CLI tests run `bin/grounds.js`, which runs the compiled CLI:
          // build it from the current source first, so it is never stale.
          globalSetup: ["test/support/build-cli.ts"],
        },
      },
    ],
  },
});
