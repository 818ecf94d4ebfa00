import * as v from "valibot";
import { RefusedError, UsageError } from "./command.js";

/**
 * Checks a command's input against the schema the HTTP API uses for the same
 * request. A field not given at all is a usage error (exit 2); a value the
 * schema refuses is a refusal (exit 1). Either way the message names the
 * option and the rule, never the value.
 */
export function validateInput<const S extends v.GenericSchema>(
  schema: S,
  input: Record<string, unknown>,
  /** The option that carries each field, e.g. `{ legalName: "--legal-name" }`. */
  options: Record<string, string>,
): v.InferOutput<S> {
  const result = v.safeParse(schema, withoutUndefined(input));
  if (result.success) return result.output;
  const missing: string[] = [];
  const refused: string[] = [];
  for (const issue of result.issues) {
    const path = (issue.path ?? []).map((item) => item.key);
    const [field, index] = path;
    const option = typeof field === "string" ? (options[field] ?? `--${field}`) : "input";
    if (path.length === 1 && issue.input === undefined) {
      if (!missing.includes(option)) missing.push(option);
      continue;
    }
    const which = typeof index === "number" ? ` (value ${index + 1})` : "";
    refused.push(`${option}${which}: ${withoutValue(issue.message)}`);
  }
  if (missing.length > 0) {
    throw new UsageError(`missing ${missing.join(", ")}`);
  }
  throw new RefusedError("The input was refused:", refused);
}

function withoutUndefined(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

/** Valibot's default messages end with the value received; drop it. */
function withoutValue(message: string): string {
  const bare = message.replace(/(:\s*Received\s.*|\s+but received\s.*)$/s, "");
  const choices = /^Invalid type: Expected \((.*)\)$/s.exec(bare)?.[1];
  return choices ? `must be one of ${choices.replace(/"/g, "").split(" | ").join(", ")}` : bare;
}
