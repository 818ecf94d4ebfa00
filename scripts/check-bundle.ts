/**
 * The Workers bundle stays edge-safe (docs/design.md §7): nothing Node-only, no MJML at run time.
 *
 *   npx tsx scripts/check-bundle.ts [outdir]     (default outdir: dist)
 *
 * Builds the Worker exactly as `npm run build` does (`wrangler deploy --dry-run --outdir <outdir>`,
 * plus `--metafile`), and once more minified into a temporary directory to measure it; then
 * fails (exit 1) if the bundle imports a Node built-in, contains a Node-only or MJML module, or
 * is over the size budget. Prints the sizes and the largest contributors. Needs no account.
 * test/worker/bundle.test.ts runs the same check.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { builtinModules, createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));
const BUNDLE = "worker.js";
const METAFILE = "bundle-meta.json";

/**
 * Minified and gzipped, the bundle must stay below this. Cloudflare's limit is 3 MiB (Free) or
 * 10 MiB (Paid) gzipped; the budget is far below it so that a heavy dependency (MJML alone is
 * ~3 MB, zod ~500 KiB) fails the build instead of slowing every cold start.
 */
export const GZIP_BUDGET_BYTES = 512 * 1024;

/** Modules that must never be in the bundle, and why. Matched against esbuild's input paths. */
const FORBIDDEN_INPUTS: { pattern: RegExp; why: string }[] = [
  {
    pattern: /(^|\/)node_modules\/(mjml[^/]*|@mjml\/[^/]+)\//,
    why: "MJML: compile templates at build time",
  },
  { pattern: /(^|\/)node_modules\/libsql\//, why: "the native libsql binding" },
  { pattern: /(^|\/)node_modules\/@libsql\/(linux|darwin|win32)-/, why: "a native libsql binary" },
  {
    pattern: /(^|\/)node_modules\/@libsql\/client\/(lib-esm\/(node|sqlite3)\.js|lib-cjs\/)/,
    why: "@libsql/client's Node entry: use @libsql/client/web",
  },
  { pattern: /(^|\/)node_modules\/better-sqlite3\//, why: "a native SQLite binding" },
  { pattern: /(^|\/)node_modules\/@hono\/node-server\//, why: "the Node HTTP server" },
  {
    pattern: /(^|\/)node_modules\/drizzle-orm\/[^/]+\/migrator\.js$/,
    why: "drizzle's migrator reads migrations from the file system",
  },
  { pattern: /(^|\/)node_modules\/tsx\//, why: "tsx (a Node loader)" },
  {
    pattern: /(^|\/)node_modules\/@sendgrid\//,
    why: "@sendgrid/* needs nodejs_compat: call the v3 API with fetch",
  },
  {
    pattern: /^src\/(cli\/|entry\/node[^/]*$|db\/node\.ts$)/,
    why: "Node-only source (CLI, Node entry point, embedded database)",
  },
];

/** Text that only Node-only code contains. */
const FORBIDDEN_TEXT: { pattern: RegExp; why: string }[] = [
  { pattern: /\bmjml2html\b/, why: "MJML at run time" },
  { pattern: /["'`]mjml["'`]/, why: "MJML at run time" },
  { pattern: /["'`][^"'`\s]*better-sqlite3[^"'`\s]*["'`]/, why: "better-sqlite3" },
  { pattern: /["'`]@libsql\/client\/(node|sqlite3)["'`]/, why: "@libsql/client's Node entry" },
  { pattern: /["'`][^"'`\s]+\.node["'`]/, why: "a native addon (.node)" },
  { pattern: /\b(__dirname|__filename)\b/, why: "CommonJS file paths" },
  { pattern: /\bprocess\.(binding|dlopen)\b/, why: "Node internals" },
];

const NODE_BUILTINS = new Set(builtinModules.map((name) => name.replace(/^node:/, "")));

/** A module specifier workerd cannot load without nodejs_compat. */
function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith("node:")) return true;
  return NODE_BUILTINS.has(specifier.split("/")[0] ?? specifier);
}

/** Specifiers the bundle still imports (esbuild leaves only what it could not or would not bundle). */
export function importsOf(code: string): { static: string[]; dynamic: string[] } {
  const found = (pattern: RegExp) => [
    ...new Set([...code.matchAll(pattern)].map((m) => m[1] ?? "")),
  ];
  return {
    static: found(
      /(?:^|[\n;])\s*(?:import|export)\s*(?:[\w*${}\s,]+?\s*from\s*)?["']([^"']+)["']/g,
    ).concat(found(/\brequire\(\s*["']([^"']+)["']\s*\)/g)),
    dynamic: found(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  };
}

export interface Finding {
  what: string;
  why: string;
}

/** Everything Node-only or MJML in a bundle, given its code and esbuild's input paths. */
export function inspectBundle(code: string, inputs: string[] = []): Finding[] {
  const findings: Finding[] = [];
  const imports = importsOf(code);
  for (const specifier of imports.static) {
    if (specifier.startsWith("cloudflare:")) continue;
    findings.push({
      what: `imports "${specifier}"`,
      why: isNodeBuiltin(specifier)
        ? "a Node built-in: workerd cannot load it without nodejs_compat"
        : "an unbundled module: the Worker would fail to load",
    });
  }
  for (const specifier of imports.dynamic.filter(isNodeBuiltin)) {
    findings.push({ what: `import("${specifier}")`, why: "a Node built-in, loaded at run time" });
  }
  for (const input of inputs) {
    const rule = FORBIDDEN_INPUTS.find(({ pattern }) => pattern.test(input));
    if (rule) findings.push({ what: `bundles ${input}`, why: rule.why });
  }
  for (const { pattern, why } of FORBIDDEN_TEXT) {
    const match = pattern.exec(code);
    if (match) findings.push({ what: `contains ${match[0]}`, why });
  }
  return findings;
}

/** Runs wrangler (Node 24, this process's), never reaching Cloudflare. */
async function wrangler(args: string[]): Promise<string> {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((done, fail) => {
    child.once("error", fail);
    child.once("close", done);
  });
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${code}):\n${output}`);
  return output;
}

/** `npm run build`'s command, into `outdir`. */
function build(outdir: string, extra: string[] = []): Promise<string> {
  return wrangler(["deploy", "--dry-run", "--outdir", outdir, ...extra]);
}

export interface BundleReport {
  file: string;
  bytes: number;
  gzipBytes: number;
  minifiedBytes: number;
  minifiedGzipBytes: number;
  /** Bytes in the (unminified) output by package, or by `src`, largest first. */
  contributors: { name: string; bytes: number }[];
  /** Imports left for run time that are not Node built-ins (harmless unless reached). */
  unresolvedDynamicImports: string[];
  /** What wrangler warned about while building. */
  warnings: string[];
  findings: Finding[];
}

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

function packageOf(input: string): string {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at < 0) return parts[0] === "src" ? "src (Grounds)" : (parts[0] ?? input);
  const name = parts[at + 1] ?? input;
  return name.startsWith("@") ? `${name}/${parts[at + 2]}` : name;
}

/** wrangler's `▲ [WARNING] …` blocks, first line each. */
function warningsIn(output: string): string[] {
  return [...output.matchAll(/\[WARNING\]\s*(.+)/g)].map((m) => (m[1] ?? "").trim());
}

/** Builds the Worker into `outdir` (and minified into a temporary directory) and inspects it. */
export async function checkBundle(outdir: string): Promise<BundleReport> {
  const out = resolve(PROJECT_ROOT, outdir);
  const minifiedDir = await mkdtemp(join(tmpdir(), "grounds-bundle-min-"));
  try {
    const [output] = await Promise.all([
      build(out, ["--metafile", join(out, METAFILE)]),
      build(minifiedDir, ["--minify"]),
    ]);
    const code = await readFile(join(out, BUNDLE), "utf8");
    const minified = await readFile(join(minifiedDir, BUNDLE));
    const meta = JSON.parse(await readFile(join(out, METAFILE), "utf8")) as Metafile;
    const inputs = Object.values(meta.outputs).flatMap((o) => Object.entries(o.inputs));

    const byPackage = new Map<string, number>();
    for (const [path, { bytesInOutput }] of inputs) {
      const name = packageOf(path);
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
    const warnings = warningsIn(output);
    const findings = inspectBundle(
      code,
      inputs.map(([path]) => path),
    );
    for (const warning of warnings.filter((w) => /built into node|nodejs_compat/i.test(w))) {
      findings.push({ what: `wrangler: ${warning}`, why: "a Node built-in" });
    }
    const report: BundleReport = {
      file: join(out, BUNDLE),
      bytes: Buffer.byteLength(code),
      gzipBytes: gzipSync(code).length,
      minifiedBytes: minified.length,
      minifiedGzipBytes: gzipSync(minified).length,
      contributors: [...byPackage]
        .map(([name, bytes]) => ({ name, bytes }))
        .sort((a, b) => b.bytes - a.bytes),
      unresolvedDynamicImports: importsOf(code).dynamic.filter((s) => !isNodeBuiltin(s)),
      warnings,
      findings,
    };
    if (report.minifiedGzipBytes > GZIP_BUDGET_BYTES) {
      report.findings.push({
        what: `minified and gzipped ${kib(report.minifiedGzipBytes)}`,
        why: `over the budget of ${kib(GZIP_BUDGET_BYTES)}`,
      });
    }
    return report;
  } finally {
    await rm(minifiedDir, { recursive: true, force: true });
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function formatReport(report: BundleReport, top = 8): string {
  const lines = [
    `Worker bundle ${report.file}`,
    `  as built:          ${kib(report.bytes)}, gzipped ${kib(report.gzipBytes)}`,
    `  minified:          ${kib(report.minifiedBytes)}, gzipped ${kib(report.minifiedGzipBytes)} (budget ${kib(GZIP_BUDGET_BYTES)})`,
    `  largest parts:     ${report.contributors
      .slice(0, top)
      .map((c) => `${c.name} ${kib(c.bytes)}`)
      .join(", ")}`,
  ];
  if (report.unresolvedDynamicImports.length > 0) {
    lines.push(
      `  left for run time: ${report.unresolvedDynamicImports.join(", ")} (optional, never reached)`,
    );
  }
  for (const warning of report.warnings) lines.push(`  wrangler warned:   ${warning}`);
  lines.push(
    report.findings.length === 0
      ? "  edge-safe: nothing Node-only, no MJML"
      : `  NOT edge-safe:\n${report.findings.map((f) => `    - ${f.what}: ${f.why}`).join("\n")}`,
  );
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const report = await checkBundle(process.argv[2] ?? "dist");
  console.log(formatReport(report));
  process.exitCode = report.findings.length === 0 ? 0 : 1;
}
