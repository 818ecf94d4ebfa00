import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  PROBLEMS,
  ProblemError,
  type ProblemField,
  type ProblemType,
  problemTypeUri,
} from "../problems.js";

/** The body of an RFC 9457 problem answer. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: ProblemField[];
}

export function problemBody(
  problem: ProblemType,
  options: { detail?: string | undefined; errors?: ProblemField[] | undefined } = {},
): ProblemBody {
  const { status, title } = PROBLEMS[problem];
  const body: ProblemBody = { type: problemTypeUri(problem), title, status };
  if (options.detail) body.detail = options.detail;
  if (options.errors && options.errors.length > 0) body.errors = options.errors;
  return body;
}

export function problemResponse(
  problem: ProblemType,
  options: {
    detail?: string | undefined;
    errors?: ProblemField[] | undefined;
    headers?: Record<string, string>;
  } = {},
): Response {
  const body = problemBody(problem, options);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "content-type": "application/problem+json", ...options.headers },
  });
}

/**
 * The one error path of the HTTP app. A ProblemError is rendered as it is;
 * Hono's own exceptions (malformed JSON, body too large) get their problem
 * type; anything else is an internal error whose details stay in the log.
 */
export function renderError(error: Error, c: Context): Response {
  if (error instanceof ProblemError) {
    return problemResponse(error.problem, { detail: error.detail, errors: error.errors });
  }
  if (error instanceof HTTPException) {
    if (error.status === 400) {
      return problemResponse("invalid-json", { detail: "The request body could not be parsed." });
    }
    if (error.status === 413) return problemResponse("payload-too-large");
    if (error.status === 401) return problemResponse("unauthenticated");
    return problemResponse(error.status >= 500 ? "internal" : "invalid-request");
  }
  console.error(`[grounds] ${c.req.method} ${new URL(c.req.url).pathname}:`, error);
  return problemResponse("internal");
}
