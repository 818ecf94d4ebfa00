import { runCli } from "./run.js";

/** `grounds …` (bin/grounds.js), `npm run cli -- …`, `npm run db:migrate`. */
process.exitCode = await runCli(
  process.argv.slice(2),
  {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  },
  process.env,
);
