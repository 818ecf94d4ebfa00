import type { StandardSchemaV1 } from "@standard-schema/spec";
import { createMiddleware } from "hono/factory";
import { describeRoute, resolver, uniqueSymbol } from "hono-openapi";
import { PROBLEMS, type ProblemType } from "../problems.js";
import { IDEMPOTENT } from "./openapi-document.js";
import { ProblemSchema } from "./schemas.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: resolver(ProblemSchema) } },
});

/**
 * Who may call a route: `operator`, `public`, `session` (a dashboard page:
 * its signed session cookie, docs/design.md §5 `/dashboard`), or the API key scope
 * required.
 */
export type Auth = "operator" | "public" | "session" | (string & {});

/**
 * Documents a route for the OpenAPI 3.1 document: its answer, the scope it
 * needs, and the problems every authenticated route can answer. The problem
 * types each operation answers beyond these are listed in
 * openapi-document.ts, where the document is finished.
 */
export function documented(spec: {
  summary: string;
  tag: string;
  auth: Auth;
  status?: number;
  response?: StandardSchemaV1;
  /** The answer is an HTML page (or, with status 303, a redirect to one). */
  html?: boolean;
  description?: string;
  /** The problems this operation answers beyond the common ones, by `type`. */
  problems?: readonly ProblemType[];
}) {
  const status = spec.status ?? 200;
  const secured = spec.auth !== "public" && spec.auth !== "session";
  const needs =
    spec.auth === "operator"
      ? "Requires the operator token."
      : spec.auth === "session"
        ? "A page of the compliance workbench: requires its session, started by signing in at `/dashboard` with an API key that has scope `compliance:read`."
        : secured
          ? `Requires an API key with scope \`${spec.auth}\`.`
          : undefined;
  const success = spec.html
    ? status === 303
      ? { description: "See Other: the page to go to next" }
      : { description: "The page", content: { "text/html": { schema: { type: "string" } } } }
    : {
        description: "Success",
        ...(spec.response
          ? { content: { "application/json": { schema: resolver(spec.response) } } }
          : {}),
      };
  return describeRoute({
    summary: spec.summary,
    tags: [spec.tag],
    description: [spec.description, needs].filter(Boolean).join("\n\n"),
    ...(secured ? { security: [{ bearer: [] }] } : {}),
    responses: {
      [status]: success,
      // A page answers HTML, never problem+json (openapi-document.ts lists its answers).
      ...(spec.html
        ? {}
        : { 400: problem("The request is not valid (`/problems/invalid-request`)") }),
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
/**
 * Marks a middleware (or a route) as honouring `Idempotency-Key`: the
 * document then lists the header and the idempotency problems for it.
 */
export function honoursIdempotencyKey<M extends object>(middleware: M): M {
  return Object.assign(middleware, { [uniqueSymbol]: { spec: { [IDEMPOTENT]: true } } });
}

/** For a route that honours `Idempotency-Key` itself (an import): documents it, does nothing. */
export const documentsIdempotencyKey = () =>
  honoursIdempotencyKey(createMiddleware(async (_c, next) => next()));
