import type { Io } from "./context.js";

/** The JSON the HTTP API answers with, for scripts (`--json`). */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
