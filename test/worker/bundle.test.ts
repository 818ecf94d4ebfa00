import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkBundle,
  formatReport,
  GZIP_BUDGET_BYTES,
  inspectBundle,
} from "../../scripts/check-bundle.js";

/**
 * The Workers build (`npm run build`'s command, into a directory of this test's own) succeeds and
 * is edge-safe: no Node built-in, no Node-only module, no MJML; within the size budget.
 */

const outdir = mkdtempSync(join(tmpdir(), "grounds-bundle-"));

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe("the Workers bundle", () => {
  it("builds with wrangler, has nothing Node-only or MJML, and fits the budget", async () => {
    const report = await checkBundle(outdir);
    console.info(formatReport(report));
    expect(report.findings).toEqual([]);
    expect(report.minifiedGzipBytes).toBeLessThan(GZIP_BUDGET_BYTES);
    // The Worker reaches libSQL over HTTP, and validates with valibot, not zod (wrangler.toml alias).
    const names = report.contributors.map((c) => c.name);
    expect(names).toContain("@libsql/hrana-client");
    expect(names).not.toContain("zod");
  }, 60_000);
});

describe("the bundle check", () => {
  it("passes plain Worker code", () => {
    const code = 'import { env } from "cloudflare:workers";\nexport default { fetch() {} };\n';
    expect(inspectBundle(code, ["src/entry/worker.ts", "node_modules/hono/dist/hono.js"])).toEqual(
      [],
    );
  });

  it.each([
    ['import { readFileSync } from "node:fs";', 'imports "node:fs"'],
    ['import path from "path";', 'imports "path"'],
    ['var fs = require("fs");', 'imports "fs"'],
    ['const { createHash } = await import("node:crypto");', 'import("node:crypto")'],
    ["export { run } from 'mjml';", `imports "mjml"`],
    ["const html = mjml2html(template, { minify: true });", "contains mjml2html"],
    ['const binding = __require("./libsql.linux-x64-gnu.node");', "a native addon"],
    ["const here = __dirname;", "contains __dirname"],
  ])("finds %s", (code, what) => {
    const findings = inspectBundle(`var a = 1;\n${code}\n`);
    expect(findings.map((f) => `${f.what} ${f.why}`).join("\n")).toContain(what);
  });

  it.each([
    ["node_modules/mjml-core/lib/index.js", "MJML"],
    ["node_modules/@libsql/client/lib-esm/node.js", "Node entry"],
    ["node_modules/libsql/index.js", "native libsql"],
    ["node_modules/better-sqlite3/lib/index.js", "native SQLite"],
    ["node_modules/drizzle-orm/libsql/migrator.js", "migrator"],
    ["src/entry/node-gateway.ts", "Node-only source"],
    ["src/db/node.ts", "Node-only source"],
    ["src/cli/main.ts", "Node-only source"],
  ])("refuses a bundled %s", (input, why) => {
    const findings = inspectBundle("export default {};\n", [input]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.why).toContain(why);
  });
});
