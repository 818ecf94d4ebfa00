import type { StandardSchemaV1 } from "@standard-schema/spec";
import { describeRoute, resolver } from "hono-openapi";
import { PROBLEMS, type ProblemType } from "../problems.js";
import { ProblemSchema } from "./schemas.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: resolver(ProblemSchema) } },
});

/**
 * Documents a route for the OpenAPI 3.1 document: its answer, the scope it
 * needs, and the problems every authenticated route can answer.
 */
export function documented(spec: {
  summary: string;
  tag: string;
  /** `operator`, `public`, or the API key scope required. */
  auth: string;
  status?: number;
  response?: StandardSchemaV1;
  description?: string;
  /** The problems this operation answers beyond the common ones, by `type`. */
  problems?: readonly ProblemType[];
}) {
  const status = spec.status ?? 200;
  const secured = spec.auth !== "public";
  return describeRoute({
    summary: spec.summary,
    tags: [spec.tag],
    description: [
      spec.description,
      secured
        ? `Requires ${spec.auth === "operator" ? "the operator token" : `an API key with scope \`${spec.auth}\``}.`
        : undefined,
    ]
      .filter(Boolean)
      .join("\n\n"),
    ...(secured ? { security: [{ bearer: [] }] } : {}),
    responses: {
      [status]: {
        description: "Success",
        ...(spec.response
          ? { content: { "application/json": { schema: resolver(spec.response) } } }
          : {}),
      },
      400: problem("The request is not valid (`/problems/invalid-request`)"),
      ...(secured
        ? {
            401: problem("No valid credential (`/problems/unauthenticated`)"),
            403: problem("The key lacks the scope (`/problems/forbidden`)"),
          }
        : {}),
      ...specificProblems(spec.problems ?? []),
    },
  });
}

/** The listed problems, grouped by their status: one answer per status, naming each type. */
function specificProblems(types: readonly ProblemType[]) {
  const byStatus = new Map<number, string[]>();
  for (const type of types) {
    const { status, title } = PROBLEMS[type];
    byStatus.set(status, [...(byStatus.get(status) ?? []), `${title} (\`/problems/${type}\`)`]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, lines]) => [status, problem(lines.join("; "))]),
  );
}
