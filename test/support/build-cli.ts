import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Vitest global setup: compiles the CLI (scripts/build-cli.ts, ~0.2 s) before the tests run it. */
export default function setup(): void {
  execFileSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "scripts", "build-cli.ts")], {
    cwd: ROOT,
    stdio: "ignore",
  });
}
