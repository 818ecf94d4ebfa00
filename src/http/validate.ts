import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ValidationTargets } from "hono";
import { validator } from "hono-openapi";
import { ProblemError, type ProblemField } from "../problems.js";

/**
 * Request validation with valibot, documented in the OpenAPI output. The
 * problem it answers names the fields that are wrong and why, but never
 * echoes a value: requests carry e-mail addresses and IPs.
 */
export function validate<Schema extends StandardSchemaV1, Target extends keyof ValidationTargets>(
  target: Target,
  schema: Schema,
) {
  return validator(target, schema, (result) => {
    if (!result.success) {
      throw new ProblemError("invalid-request", {
        detail: `The request ${target === "json" ? "body" : target} is not valid.`,
        errors: fieldsOf(target, result.error),
      });
    }
  });
}

function fieldsOf(target: string, issues: readonly StandardSchemaV1.Issue[]): ProblemField[] {
  return issues.map((issue) => ({
    pointer:
      `${target === "json" ? "" : `/${target}`}/${(issue.path ?? [])
        .map((segment) => String(typeof segment === "object" ? segment.key : segment))
        .map((segment) => segment.replace(/~/g, "~0").replace(/\//g, "~1"))
        .join("/")}`.replace(/\/$/, "") || "/",
    detail: withoutValue(issue.message),
  }));
}

/** Valibot's default messages end with the received value; drop it. */
function withoutValue(message: string): string {
  // A strict object's unknown key is an issue of "Invalid key: Expected never".
  if (message.startsWith("Invalid key"))
    return /Expected never\b/.test(message) ? "not a known field" : "required";
  return message.replace(/(:\s*Received\s.*|\s+but received\s.*)$/s, "");
}
