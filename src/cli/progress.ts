import type { Io } from "./context.js";

/**
 * Progress of a long command (export, import): a bar redrawn in place on a
 * terminal, a line every tenth of the way otherwise (a log, a CI job).
 * `share` is 0–1; `counts` says what was done so far, e.g. "1,200 rows".
 */
export function progressBar(io: Io) {
  const terminal = process.stderr.isTTY === true;
  let lastTenth = -1;
  return {
    update(share: number, counts: string) {
      const percent = Math.floor(share * 100);
      if (terminal) {
        const width = 30;
        const filled = Math.round(share * width);
        process.stderr.write(
          `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(percent).padStart(3)}%  ${counts}\x1b[K`,
        );
        return;
      }
      const tenth = Math.floor(share * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        io.err(`${String(percent).padStart(3)}%  ${counts}`);
      }
    },
    done() {
      if (terminal) process.stderr.write("\n");
    },
  };
}
