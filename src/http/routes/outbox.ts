import { sha256 } from "@noble/hashes/sha2.js";
import { Hono } from "hono";
import { html, raw } from "hono/html";
import * as v from "valibot";
import { readTenantOutbox } from "../../adapters/outbox.js";
import type { Deps } from "../../services/deps.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { decodeCursor, PageQueryFields, pageOf } from "../pagination.js";
import { outboxHeaders, withHeaders } from "../security-headers.js";
import { validate } from "../validate.js";

const OutboxQuery = v.object({
  limit: v.optional(
    v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(1), v.maxValue(500)),
    "50",
  ),
  /** Older than this id: the paging of before `cursor` (kept for clients that use it). */
  before: v.optional(v.string()),
  cursor: PageQueryFields.cursor,
});

/**
 * The local outbox (no SendGrid key set): what would have been delivered, per
 * tenant. JSON for tools and tests; a small page for people, which asks for
 * an API key and reads the JSON with it (no cookie, no session).
 */
export function outboxRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .get(
      "/v1/outbox",
      documented({
        summary: "Messages in the local outbox",
        description:
          "When no SendGrid key is set, messages are kept here instead of being delivered: one per recipient, rendered as sent, newest first. Paginated like every list: `limit` (default 50 here) and `cursor` → `nextCursor`; `before` (an id) still works as it did.",
        tag: "Sending",
        auth: "send",
      }),
      requireScope(deps, "send"),
      validate("query", OutboxQuery),
      async (c) => {
        const { limit, before, cursor } = c.req.valid("query");
        const [after] = decodeCursor(cursor, ["string"]) ?? [before];
        const rows = await readTenantOutbox(deps.db, c.var.principal.tenant.id, {
          limit: limit + 1,
          before: after === undefined ? undefined : String(after),
        });
        const page = pageOf(rows, limit, (row) => [row.id]);
        return c.json({
          provider: deps.provider.name,
          messages: page.items.map(({ tenantId: _tenant, createdAt, ...row }) => ({
            ...row,
            createdAt: new Date(createdAt).toISOString(),
          })),
          nextCursor: page.nextCursor,
        });
      },
    )
    .get(
      "/outbox",
      documented({
        summary: "The local outbox page",
        description:
          "A page that reads `GET /v1/outbox` with the API key typed into it (kept in the page only).",
        tag: "Sending",
        auth: "public",
        html: true,
      }),
      withHeaders(OUTBOX_HEADERS),
      (c) => c.html(OUTBOX_PAGE),
    );
}

/**
 * The page's one script, kept apart so that its hash can be the only script
 * the page's Content-Security-Policy allows.
 */
const OUTBOX_SCRIPT = `
      const form = document.getElementById("key-form");
      const status = document.getElementById("status");
      const list = document.getElementById("messages");
      const field = (dl, name, value) => {
        const dt = document.createElement("dt"); dt.textContent = name;
        const dd = document.createElement("dd"); dd.textContent = value;
        dl.append(dt, dd);
      };
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        status.textContent = "Loading…";
        const res = await fetch("/v1/outbox?limit=100", { headers: { authorization: "Bearer " + form.key.value } });
        if (!res.ok) { status.textContent = "The key was refused (" + res.status + ")."; return; }
        const { messages } = await res.json();
        status.textContent = messages.length + " message(s), newest first.";
        list.replaceChildren(...messages.map((m) => {
          const article = document.createElement("article");
          const dl = document.createElement("dl");
          field(dl, "To", m.to); field(dl, "From", m.from); field(dl, "Subject", m.subject); field(dl, "Sent", m.createdAt);
          for (const [k, v] of Object.entries(m.headers)) field(dl, k, v);
          field(dl, "Justification", m.justificationId ?? "");
          const frame = document.createElement("iframe");
          frame.setAttribute("sandbox", ""); frame.title = "HTML part of " + m.subject; frame.srcdoc = m.html ?? "";
          const text = document.createElement("pre"); text.textContent = m.text;
          article.append(dl, frame, text);
          return article;
        }));
      });
`;

const OUTBOX_HEADERS = outboxHeaders(
  btoa(String.fromCharCode(...sha256(new TextEncoder().encode(OUTBOX_SCRIPT)))),
);

const OUTBOX_PAGE = html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Grounds — local outbox</title>
    <style>
      body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1a1a1a; }
      form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; }
      label { display: flex; flex-direction: column; font-weight: 600; }
      input { font: inherit; padding: .4rem; min-width: 22rem; border: 1px solid #666; border-radius: 4px; }
      button { font: inherit; padding: .45rem 1rem; border-radius: 4px; border: 1px solid #174ea6; background: #1a56c8; color: #fff; }
      article { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; padding: .75rem 1rem; }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; margin: 0 0 .5rem; }
      dt { font-weight: 600; } dd { margin: 0; word-break: break-all; }
      iframe { width: 100%; min-height: 24rem; border: 1px solid #ddd; }
      pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: .5rem; }
      [role=status] { margin: 1rem 0; }
    </style>
  </head>
  <body>
    <h1>Local outbox</h1>
    <p>No SendGrid key is set, so Grounds keeps outgoing mail here. Enter an API key with the <code>send</code> scope to see your tenant's messages. The key stays in this page.</p>
    <form id="key-form">
      <label for="key">API key<input id="key" name="key" type="password" autocomplete="off" required /></label>
      <button type="submit">Show messages</button>
    </form>
    <div role="status" id="status"></div>
    <main id="messages"></main>
    <script>${raw(OUTBOX_SCRIPT)}</script>
  </body>
</html>`;
