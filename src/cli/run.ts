import { PROBLEMS, ProblemError } from "../problems.js";
import { type Command, EXIT, type ExitCode, RefusedError, UsageError } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { Context, type Io } from "./context.js";

/**
 * Runs one command line and answers its exit code. Errors are reported here,
 * once, and never with a value the user gave: values carry personal data.
 */
export async function runCli(
  argv: readonly string[],
  io: Io,
  env: Record<string, string | undefined>,
  commands: readonly Command[] = COMMANDS,
  version = "unknown",
): Promise<ExitCode> {
  const context = new Context(io, env);
  let name = "";
  try {
    const [first] = argv;
    if (first === undefined || first === "--help" || first === "-h") {
      io.out(overview(commands));
      return EXIT.ok;
    }
    if (first === "--version" || first === "-V" || first === "version") {
      io.out(`grounds ${version}`);
      return EXIT.ok;
    }
    if (first === "help") return help(argv.slice(1), io, commands);
    const match = findCommand(argv, commands);
    if (!match) {
      const group = groupOf(first, commands);
      if (group.length > 0) {
        if (argv.includes("--help") || argv.includes("-h")) {
          io.out(groupHelp(first, group));
          return EXIT.ok;
        }
        name = first;
        throw new UsageError(`which one? ${group.map((c) => `"grounds ${c.name}"`).join(", ")}`);
      }
      throw new UsageError(
        /^[a-z][a-z-]{0,30}$/.test(first) ? `unknown command "${first}"` : "unknown command",
      );
    }
    name = match.command.name;
    if (match.args.includes("--help") || match.args.includes("-h")) {
      io.out(match.command.help);
      return EXIT.ok;
    }
    return await match.command.run(match.args, context);
  } catch (error) {
    return report(error, name, io);
  } finally {
    context.close();
  }
}

function report(error: unknown, name: string, io: Io): ExitCode {
  const prefix = name ? `grounds ${name}` : "grounds";
  if (error instanceof UsageError) {
    io.err(`${prefix}: ${error.message}`);
    io.err(`Run "${prefix} --help" for usage.`);
    return EXIT.usage;
  }
  if (error instanceof RefusedError) {
    io.err(`${prefix}: ${error.message}`);
    for (const line of error.lines) io.err(`  ${line}`);
    return EXIT.failed;
  }
  if (error instanceof ProblemError) {
    const { title } = PROBLEMS[error.problem];
    io.err(`${prefix}: ${title}${error.detail ? `: ${error.detail}` : ""}`);
    for (const field of error.errors ?? []) io.err(`  ${field.pointer}: ${field.detail}`);
    return EXIT.failed;
  }
  io.err(`${prefix}: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT.failed;
}

/** The command named by the first words of the line, longest name first. */
function findCommand(
  argv: readonly string[],
  commands: readonly Command[],
): { command: Command; args: string[] } | null {
  let best: { command: Command; args: string[] } | null = null;
  for (const command of commands) {
    const words = command.name.split(" ");
    if (words.every((word, i) => argv[i] === word)) {
      if (!best || words.length > best.command.name.split(" ").length) {
        best = { command, args: argv.slice(words.length) };
      }
    }
  }
  return best;
}

function groupOf(word: string, commands: readonly Command[]): Command[] {
  return commands.filter((c) => c.name.includes(" ") && c.name.split(" ")[0] === word);
}

function help(topic: string[], io: Io, commands: readonly Command[]): ExitCode {
  if (topic.length === 0) {
    io.out(overview(commands));
    return EXIT.ok;
  }
  const match = findCommand(topic, commands);
  if (match && match.args.length === 0) {
    io.out(match.command.help);
    return EXIT.ok;
  }
  const [first = ""] = topic;
  const group = groupOf(first, commands);
  if (topic.length === 1 && group.length > 0) {
    io.out(groupHelp(first, group));
    return EXIT.ok;
  }
  throw new UsageError('no such command; run "grounds help" for the list');
}

function list(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return commands.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`).join("\n");
}

function groupHelp(word: string, group: readonly Command[]): string {
  return `Usage: grounds ${word} <command> [options]\n\n${list(group)}\n\nRun "grounds ${word} <command> --help" for its options.`;
}

function overview(commands: readonly Command[]): string {
  return `Grounds: a compliance gateway for commercial e-mail.

Usage: grounds <command> [options]

Commands:
${list(commands)}

Run "grounds <command> --help" (or "grounds help <command>") for its options,
"grounds --version" for the version.

Configuration is read from the environment, as the server reads it:
  DATABASE_URL           a file: path or a remote libSQL URL (default file:./data/grounds.db)
  DATABASE_AUTH_TOKEN    for a remote database
  GROUNDS_SECRET         master secret (generated beside a file database if unset)
  GROUNDS_OPERATOR_TOKEN operator credential (generated and printed once if unset)

Exit codes: 0 done, 1 refused or failed, 2 usage error.`;
}
