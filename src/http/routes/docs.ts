import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";

/**
 * Scalar's configuration: every feature that talks to Scalar's servers or a
 * third party is off — "Ask AI" (it uploads the document), "Generate MCP",
 * the developer tools' Share and Deploy, telemetry — and its fonts are the
 * system's (its default fonts come from Scalar's servers). "Try it" stays:
 * it calls this gateway, at the document's `servers` (PUBLIC_URL), directly,
 * never through Scalar's proxy (no `proxyUrl`).
 */
export const SCALAR_CONFIGURATION = {
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
  documentDownloadType: "json",
} as const;

/**
 * `GET /docs`: the API reference, rendered from `/openapi.json` by Scalar's
 * browser bundle — served from this origin (`/docs/scalar.js`, copied into
 * public/ at build time), never from a CDN (its Content-Security-Policy:
 * security-headers.ts).
 */
const PAGE = html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Grounds API</title>
  </head>
  <body>
    <script
      id="api-reference"
      data-url="/openapi.json"
      data-configuration="${JSON.stringify(SCALAR_CONFIGURATION)}"
    ></script>
    <script src="/docs/scalar.js"></script>
  </body>
</html>`;

export function docsRoutes() {
  return new Hono<AppEnv>().get(
    "/docs",
    documented({
      summary: "The API reference",
      description:
        "This document, rendered by Scalar served from the gateway itself: nothing is loaded from another origin, and its AI, MCP, share, deploy and telemetry features are off.",
      tag: "Meta",
      auth: "public",
      html: true,
    }),
    (c) => c.html(PAGE),
  );
}
