import { readFileSync } from "node:fs";
import { runCli } from "./run.js";

// Two levels below the root both here (src/cli/) and compiled (build/cli/).
const { version } = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

/** `grounds …` (bin/grounds.js), `npm run cli -- …`, `npm run db:migrate`. */
process.exitCode = await runCli(
  process.argv.slice(2),
  {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  },
  process.env,
  undefined,
  version,
);
