import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/command.js";
import { runCli } from "../../src/cli/run.js";
import {
  createTenantWithTopics,
  environmentOf,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";
import { decisionFor, fixture } from "./helpers.js";

/** `grounds import FILE`: the same import, from the command line, with its progress. */
let gateway: TestGateway;
let key: string;
let tenantId: string;
let env: Record<string, string>;

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gateway));
  env = environmentOf(gateway);
});

afterAll(async () => {
  await gateway.stop();
});

async function grounds(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }, env);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

function file(name: string, text: string): string {
  const path = join(gateway.dir, name);
  writeFileSync(path, text);
  return path;
}

describe("grounds import", () => {
  it("imports a Mailchimp export, showing progress and listing the refused rows", async () => {
    const path = file("subscribed_members_export.csv", fixture("mailchimp-subscribed.csv"));
    const run = await grounds(
      "import",
      path,
      "--tenant",
      tenantId,
      "--format",
      "mailchimp",
      "--topics",
      "tips",
    );
    // Rows were refused: the exit code says so, for scripts.
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toMatch(/Importing subscribed_members_export\.csv \(0\.0 MiB\) as imp_/);
    expect(run.stderr).toMatch(/^ {2}0% {2}0 rows$/m);
    expect(run.stderr).toMatch(/^100% {2}8 rows, 4 refused$/m);
    expect(run.stdout).toMatch(
      /^Import imp_\w+ done: 8 rows read, 3 imported, 1 already held, 4 refused\.$/m,
    );
    expect(run.stdout).toContain("  7: Email Address: not a valid e-mail address");
    expect(run.stdout).toContain("  9: OPTIN_TIME: lies in the future");
    // Nothing of the rows' values is printed.
    expect(run.stdout + run.stderr).not.toContain("lucie.kralova");
    const decision = await decisionFor(gateway, key, "jana.novakova@seznam.example", "tips");
    expect(decision).toMatchObject({ decision: "send", basis: "consent" });
  });

  it("prints the job as the API shows it with --json, and a re-run adds nothing", async () => {
    const path = file("again.csv", fixture("mailchimp-subscribed.csv"));
    const run = await grounds(
      "import",
      "--tenant",
      tenantId,
      path,
      "--format=mailchimp",
      "--topics=tips",
      "--json",
    );
    expect(run.code).toBe(EXIT.failed);
    const job = JSON.parse(run.stdout) as {
      imported: number;
      skipped: number;
      rejected: unknown[];
    };
    expect(job).toMatchObject({ status: "done", imported: 0, skipped: 4 });
    expect(job.rejected).toHaveLength(4);
  });

  it("exits 0 when every row is imported", async () => {
    const path = file(
      "clean.ndjson",
      '{"type":"consent","email":"cli@example.cz","collectedAt":"2025-10-10"}\n',
    );
    const run = await grounds(
      "import",
      path,
      "--tenant",
      tenantId,
      "--format",
      "ndjson",
      "--topics",
      "tips",
    );
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/1 rows read, 1 imported, 0 already held, 0 refused/);
  });

  it("refuses a wrong command line before touching anything", async () => {
    expect((await grounds("import", "--tenant", tenantId, "--format", "csv")).code).toBe(
      EXIT.usage,
    );
    expect((await grounds("import", "x.csv", "--tenant", tenantId)).stderr).toMatch(
      /missing --format/,
    );
    expect((await grounds("import", "a.csv", "b.csv", "--tenant", tenantId)).code).toBe(EXIT.usage);
    const missing = await grounds(
      "import",
      join(gateway.dir, "nope.csv"),
      "--tenant",
      tenantId,
      "--format",
      "csv",
    );
    expect(missing).toMatchObject({
      code: EXIT.failed,
      stderr: expect.stringMatching(/cannot be read/),
    });
    const help = await grounds("import", "--help");
    expect(help.stdout).toMatch(/Usage: grounds import FILE/);
  });
});
