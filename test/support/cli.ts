import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE = join(ROOT, "node_modules", ".bin", "node");
const BIN = join(ROOT, "bin", "grounds.js");

/** What a CLI run answered. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `grounds …` as users do: `bin/grounds.js` in a process of its own, on
 * the project's Node, in a clean environment — only what the CLI is meant to
 * read (`env`), with PATH and HOME.
 */
export function runGrounds(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      NODE,
      [BIN, ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
        timeout: timeoutMs,
      },
      (error, stdout, stderr) => {
        const code = error ? error.code : 0;
        if (typeof code !== "number") {
          reject(error);
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
  });
}
