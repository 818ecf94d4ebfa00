import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import type { Context } from "./context.js";

/** Exit codes: 0 done, 1 refused or failed, 2 the command line itself is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** One entry of the command table. */
export interface Command {
  /** The words that name it, e.g. `tenant create`. */
  name: string;
  /** One line, for `grounds help`. */
  summary: string;
  /** The whole help text: usage, options, an example. */
  help: string;
  run(args: string[], context: Context): Promise<ExitCode>;
}

/** The command line is wrong (exit 2). The message never carries a value given. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The input was understood but refused (exit 1); `lines` say why, without values. */
export class RefusedError extends Error {
  override name = "RefusedError";
  constructor(
    message: string,
    readonly lines: string[] = [],
  ) {
    super(message);
  }
}

type Values<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>
>["values"];

/**
 * The options of a command, parsed strictly. Errors name the option, never the
 * value: a value may be an address or a person's name.
 */
export function parseOptions<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
): Values<O> {
  let parsed: { values: unknown; tokens: { kind: string; index: number }[] };
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const stray = parsed.tokens.find((token) => token.kind === "positional");
  if (stray) {
    throw new UsageError(
      `unexpected argument (the ${ordinal(stray.index + 1)} one after the command); quote values that contain spaces`,
    );
  }
  return parsed.values as Values<O>;
}

function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = /'(-[^'\s=]*)/.exec(message)?.[1];
    return option ? `unknown option ${option}` : "unknown option";
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    // Node's messages here name only the option ("argument missing", "ambiguous", …).
    const option = /'(--?[a-z][a-z-]*)/i.exec(message)?.[1] ?? "an option";
    if (/ambiguous/.test(message)) {
      return `${option} needs a value (to give a value that starts with "-", write ${option}=VALUE)`;
    }
    if (/does not take an argument/.test(message)) return `${option} takes no value`;
    return `${option} needs a value`;
  }
  return "the command line could not be read";
}

export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${["th", "st", "nd", "rd"][n % 10] ?? "th"}`;
}
