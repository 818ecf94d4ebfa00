import { Hono } from "hono";
import { PROBLEMS, type ProblemType } from "../../problems.js";
import { checkStorage } from "../../services/check-storage.js";
import type { Deps } from "../../services/deps.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { problemResponse, STORAGE_RETRY_AFTER_SECONDS } from "../problem.js";

/** Health and the documentation of problem types (the `type` URIs resolve here). */
export function metaRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .get(
      "/healthz",
      documented({
        summary: "Health",
        description:
          'Whether the gateway can record anything: `{status: "ok", database: {writable: true}}`, or `503` with `{status: "unavailable", database: {writable: false, fault}}` (`fault`: `busy`, `read-only`, `full` or `io`) and `Retry-After` while the database takes no write. The check is a real (tiny) write.',
        tag: "Meta",
        auth: "public",
      }),
      async (c) => {
        const storage = await checkStorage(deps);
        c.header("cache-control", "no-store");
        if (storage.writable) return c.json({ status: "ok", database: storage });
        c.header("retry-after", String(STORAGE_RETRY_AFTER_SECONDS));
        return c.json({ status: "unavailable", database: storage }, 503);
      },
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
