import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { generateSpecs } from "hono-openapi";
import { ProblemError } from "../problems.js";
import type { Deps } from "../services/deps.js";
import type { AppEnv } from "./env.js";
import { documented } from "./openapi.js";
import { finishDocument } from "./openapi-document.js";
import { problemResponse, renderError } from "./problem.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { decisionRoutes } from "./routes/decisions.js";
import { docsRoutes } from "./routes/docs.js";
import { evidenceRoutes } from "./routes/evidence.js";
import { importRoutes } from "./routes/imports.js";
import { inboundRoutes } from "./routes/inbound.js";
import { keyRoutes } from "./routes/keys.js";
import { logRoutes } from "./routes/log.js";
import { messageRoutes } from "./routes/messages.js";
import { metaRoutes } from "./routes/meta.js";
import { outboundWebhookRoutes } from "./routes/outbound-webhooks.js";
import { outboxRoutes } from "./routes/outbox.js";
import { proofRoutes } from "./routes/proofs.js";
import { sendGridRoutes } from "./routes/sendgrid.js";
import { settingsRoutes } from "./routes/settings.js";
import { startRoutes } from "./routes/start.js";
import { subjectRoutes } from "./routes/subjects.js";
import { subscriptionRoutes } from "./routes/subscriptions.js";
import { tenantRoutes } from "./routes/tenants.js";
import { topicRoutes } from "./routes/topics.js";
import { unsubscribeRoutes } from "./routes/unsubscribe.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { DOCS_HEADERS, withHeaders } from "./security-headers.js";

/** 1 MiB: far above any evidence write, far below what would hurt. */
const MAX_BODY_BYTES = 1024 * 1024;
/** A send of 10,000 recipients with their data and a rich HTML body. */
const MAX_SEND_BODY_BYTES = 32 * 1024 * 1024;

function limitBody(maxSize: number, label: string) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ProblemError("payload-too-large", { detail: `The body may be at most ${label}.` });
    },
  });
}

/**
 * The HTTP app, the same on Node and on Workers. It imports nothing of a
 * runtime: everything it needs arrives in `deps`.
 */
export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>({ strict: false });
  const sendLimit = limitBody(MAX_SEND_BODY_BYTES, "32 MiB");
  const defaultLimit = limitBody(MAX_BODY_BYTES, "1 MiB");
  app.use("/v1/*", (c, next) =>
    // An import is streamed to storage, bounded as it streams (MAX_IMPORT_BYTES):
    // bodyLimit would buffer a body sent without a Content-Length.
    /^\/v1\/imports\/?$/.test(c.req.path) && c.req.method === "POST"
      ? next()
      : (c.req.path === "/v1/messages" ? sendLimit : defaultLimit)(c, next),
  );
  // /webhooks/* bound their bodies themselves, after checking the signature
  // headers and as the body streams (services/webhooks/verify-sendgrid-webhook.ts).
  // SendGrid's own limit for a mail is 30 MB.
  app.use("/v3/*", sendLimit);
  app.use("/docs", withHeaders(DOCS_HEADERS));
  app.route("/", startRoutes(deps));
  app.route("/", metaRoutes(deps));
  app.route("/", docsRoutes());
  app.route("/", tenantRoutes(deps));
  app.route("/", keyRoutes(deps));
  app.route("/", topicRoutes(deps));
  app.route("/", evidenceRoutes(deps));
  app.route("/", logRoutes(deps));
  app.route("/", decisionRoutes(deps));
  app.route("/", messageRoutes(deps));
  app.route("/", outboxRoutes(deps));
  app.route("/", sendGridRoutes(deps));
  app.route("/", importRoutes(deps));
  app.route("/", settingsRoutes(deps));
  app.route("/", webhookRoutes(deps));
  app.route("/", inboundRoutes(deps));
  app.route("/", outboundWebhookRoutes(deps));
  app.route("/", proofRoutes(deps));
  app.route("/", subjectRoutes(deps));
  app.route("/", dashboardRoutes(deps));
  app.route("/", unsubscribeRoutes(deps));
  app.route("/", subscriptionRoutes(deps));
  let document: Promise<unknown> | undefined;
  app.get(
    "/openapi.json",
    documented({ summary: "This OpenAPI 3.1 document", tag: "Meta", auth: "public" }),
    async (c) => {
      // The routes are fixed once the app is built: the document is made once.
      document ??= generateSpecs(app, {
        // Document /openapi.json itself (a path with a dot looks like a static file).
        excludeStaticFile: false,
        documentation: {
          openapi: "3.1.0",
          info: {
            title: "Grounds",
            version: "1",
            description:
              "A compliance gateway for commercial e-mail. Errors are `application/problem+json` (RFC 9457) with a stable `type`, documented at `/problems/{type}`; every write accepts `Idempotency-Key`. List endpoints page with an opaque `cursor`.",
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
      }).then((generated) => finishDocument(generated, { publicUrl: deps.publicUrl }));
      return c.json(await document);
    },
  );
  app.notFound(() => problemResponse("not-found"));
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof createApp>;
