/**
 * `npx grounds` runs compiled JavaScript, not TypeScript through tsx: a CLI
 * call then starts in a fraction of a second instead of several, with no
 * loader warnings. The CLI is bundled into `build/cli/grounds.js` (two
 * levels below the root, as `src/entry/` is, so paths it resolves from its
 * own location — the migrations in `drizzle/`, `public/` — stay right);
 * packages stay external and load from node_modules as usual.
 */
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const started = performance.now();
// Chunk names change with their content: no stale chunk may stay behind.
rmSync(join(root, "build/cli"), { recursive: true, force: true });
await build({
  entryPoints: [join(root, "src/cli/main.ts")],
  entryNames: "grounds",
  outdir: join(root, "build/cli"),
  bundle: true,
  // What a command needs (the gateway, libSQL, drizzle) is imported when it
  // runs, so `--help` and `--version` load none of it.
  splitting: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node24",
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  logLevel: "warning",
});
console.log(
  `build-cli: src/cli/main.ts → build/cli/grounds.js in ${Math.round(performance.now() - started)} ms`,
);
