import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem } from "../http/helpers.js";
import { OPERATOR_TOKEN } from "../support/gateway.js";
import { startTestWorker, type TestWorker } from "../support/worker.js";

/**
 * A Worker deployed without GROUNDS_SECRET fails closed: every request is a problem+json 500
 * that says nothing of the cause, and the log says which secret is missing.
 */

let dir: string;
let worker: TestWorker;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-worker-misconfigured-"));
  worker = await startTestWorker({
    dbPath: join(dir, "grounds.db"),
    vars: { GROUNDS_SECRET: undefined },
  });
});

afterAll(async () => {
  await worker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a Worker without GROUNDS_SECRET", () => {
  it("answers problem+json 500 internal, revealing nothing", async () => {
    for (const [path, init] of [
      ["/healthz", {}],
      ["/v1/tenants", { method: "POST", key: OPERATOR_TOKEN, json: {} }],
    ] as const) {
      const problem = await expectProblem(await worker.request(path, init), 500, "internal");
      expect(problem.raw).not.toMatch(/GROUNDS_|secret/i);
    }
  });

  it("says why in the log, and throws nothing uncaught", () => {
    const errors = worker.logs.filter((l) => l.level === "error").map((l) => l.message);
    expect(errors.join("\n")).toContain("GROUNDS_SECRET and GROUNDS_OPERATOR_TOKEN must be set");
    expect(worker.logs.filter((l) => l.level === "uncaught")).toEqual([]);
  });
});
