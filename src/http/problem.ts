import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { loggableError, storageFaultOf } from "../db/errors.js";
import {
  PROBLEMS,
  ProblemError,
  type ProblemField,
  type ProblemType,
  problemTypeUri,
} from "../problems.js";

/**
 * How long a client should wait after a storage fault (RFC 9110 §10.2.3): a
 * lock clears in milliseconds, an operator frees a disk in minutes; a few
 * seconds keeps a mailbox provider's one-click retry from hammering.
 */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/** Where an error was thrown, without its message (which may quote addresses). */
export function stackOf(error: Error): string {
  return (error.stack ?? "").split("\n").slice(1).join("\n");
}

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
  // The route's pattern, not its path: a path may hold an address (/v1/subjects/{email}).
  const where = `${c.req.method} ${c.req.routePath}`;
  if (storageFaultOf(error)) {
    console.error(`[grounds] ${where}: storage unavailable: ${loggableError(error)}`);
    return problemResponse("storage-unavailable", {
      headers: { "retry-after": String(STORAGE_RETRY_AFTER_SECONDS) },
    });
  }
  console.error(`[grounds] ${where}: ${loggableError(error)}`, stackOf(error));
  return problemResponse("internal");
}
