import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem } from "../http/helpers.js";
import { startTestWorker } from "../support/worker.js";

/**
 * PUBLIC_URL is the base of every link in mail; wrangler.toml leaves it unset so that a deploy
 * cannot go out with localhost. A Worker without it, or with plain http outside localhost,
 * fails closed and says why in the log.
 */

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "grounds-worker-public-url-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the Worker's PUBLIC_URL", () => {
  it.each([
    ["unset", undefined, "PUBLIC_URL must be set"],
    ["plain http", "http://grounds.example.com", "PUBLIC_URL must be an https URL"],
  ])("refuses to start when %s", async (name, value, why) => {
    const worker = await startTestWorker({
      dbPath: join(dir, `${name.replace(/\W/g, "-")}.db`),
      vars: { PUBLIC_URL: value },
    });
    try {
      await expectProblem(await worker.request("/healthz"), 500, "internal");
      const errors = worker.logs.filter((l) => l.level === "error").map((l) => l.message);
      expect(errors.join("\n")).toContain(why);
    } finally {
      await worker.stop();
    }
  });
});
