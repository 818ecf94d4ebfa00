import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../env.js";

/**
 * `GET /docs`: the API reference, rendered from `/openapi.json` by Scalar's
 * browser bundle — served from this origin (`/docs/scalar.js`, copied into
 * public/ at build time), never from a CDN, and with system fonts (its
 * default fonts would come from Scalar's servers).
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
      data-configuration='{"withDefaultFonts":false}'
    ></script>
    <script src="/docs/scalar.js"></script>
  </body>
</html>`;

export function docsRoutes() {
  return new Hono<AppEnv>().get("/docs", (c) => c.html(PAGE));
}
