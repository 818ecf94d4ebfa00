import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { openAPIRouteHandler } from "hono-openapi";
import { ProblemError } from "../problems.js";
import type { Deps } from "../services/deps.js";
import type { AppEnv } from "./env.js";
import { problemResponse, renderError } from "./problem.js";
import { decisionRoutes } from "./routes/decisions.js";
import { evidenceRoutes } from "./routes/evidence.js";
import { keyRoutes } from "./routes/keys.js";
import { metaRoutes } from "./routes/meta.js";
import { tenantRoutes } from "./routes/tenants.js";
import { topicRoutes } from "./routes/topics.js";

/** 1 MiB: far above any evidence write, far below what would hurt. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The HTTP app, the same on Node and on Workers. It imports nothing of a
 * runtime: everything it needs arrives in `deps`.
 */
export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>({ strict: false });
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ProblemError("payload-too-large", { detail: "The body may be at most 1 MiB." });
      },
    }),
  );
  app.route("/", metaRoutes());
  app.route("/", tenantRoutes(deps));
  app.route("/", keyRoutes(deps));
  app.route("/", topicRoutes(deps));
  app.route("/", evidenceRoutes(deps));
  app.route("/", decisionRoutes(deps));
  app.get(
    "/openapi.json",
    openAPIRouteHandler(app, {
      documentation: {
        openapi: "3.1.0",
        info: {
          title: "Grounds",
          version: "1",
          description:
            "A compliance gateway for commercial e-mail. Errors are `application/problem+json` (RFC 9457) with a stable `type`; every write accepts `Idempotency-Key`.",
        },
        components: {
          securitySchemes: {
            bearer: {
              type: "http",
              scheme: "bearer",
              description: "An API key, or the operator token for `POST /v1/tenants`.",
            },
          },
        },
      },
    }),
  );
  app.notFound(() => problemResponse("not-found"));
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof createApp>;
