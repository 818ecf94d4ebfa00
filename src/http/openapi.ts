import type { StandardSchemaV1 } from "@standard-schema/spec";
import { describeRoute, resolver } from "hono-openapi";
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
    },
  });
}
