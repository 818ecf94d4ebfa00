import { Hono } from "hono";
import { PROBLEMS, type ProblemType } from "../../problems.js";
import type { AppEnv } from "../env.js";
import { problemResponse } from "../problem.js";

/** Health and the documentation of problem types (the `type` URIs resolve here). */
export function metaRoutes() {
  return new Hono<AppEnv>()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/problems/:type", (c) => {
      const type = c.req.param("type");
      if (!Object.hasOwn(PROBLEMS, type)) return problemResponse("not-found");
      const { status, title } = PROBLEMS[type as ProblemType];
      return c.json({ type: `/problems/${type}`, title, status });
    });
}
