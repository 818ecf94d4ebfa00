import { Hono } from "hono";
import { PROBLEMS, type ProblemType } from "../../problems.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { problemResponse } from "../problem.js";

/** Health and the documentation of problem types (the `type` URIs resolve here). */
export function metaRoutes() {
  return new Hono<AppEnv>()
    .get("/healthz", documented({ summary: "Health", tag: "Meta", auth: "public" }), (c) =>
      c.json({ status: "ok" }),
    )
    .get(
      "/problems/:type",
      documented({
        summary: "A problem type",
        description: "The documentation of a problem `type` (RFC 9457) the API answers with.",
        tag: "Meta",
        auth: "public",
      }),
      (c) => {
        const type = c.req.param("type");
        if (!Object.hasOwn(PROBLEMS, type)) return problemResponse("not-found");
        const { status, title } = PROBLEMS[type as ProblemType];
        return c.json({ type: `/problems/${type}`, title, status });
      },
    );
}
