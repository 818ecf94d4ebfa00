import { Hono } from "hono";
import type { Deps } from "../../services/deps.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { STAFF_PAGE_HEADERS, StaffPage } from "../pages/staff-layout.js";

/**
 * `GET /`: where a new user lands (docs/design.md §5). It links what there is to
 * see — the API reference, the document, the workbench, and the local
 * outbox when mail goes there (no SendGrid key) — and says nothing about
 * any tenant.
 */
function StartPage(props: { outbox: boolean; publicUrl: string }) {
  return (
    <StaffPage title="Welcome">
      <section>
        <h1>Grounds</h1>
        <p>
          A compliance gateway for commercial e-mail: no message leaves without a lawful basis for
          its recipient, every recipient can stop it with one click, and every decision leaves a
          proof that compliance staff can export years later.
        </p>
        <ul>
          <li>
            <a href="/docs">API reference</a> — every path, field and error type, with examples you
            can run against <code>{props.publicUrl}</code> (also as{" "}
            <a href="/openapi.json">OpenAPI 3.1 JSON</a>).
          </li>
          <li>
            <a href="/dashboard">Compliance workbench</a> — why did this person get this message?
            Proof exports, the log's integrity, data-subject requests (sign in with a key that has
            the <code>compliance:read</code> scope).
          </li>
          {props.outbox ? (
            <li>
              <a href="/outbox">Local outbox</a> — no SendGrid key is set, so mail is kept here
              instead of being delivered.
            </li>
          ) : null}
          <li>
            <a href="/healthz">Health</a>
          </li>
        </ul>
      </section>
    </StaffPage>
  );
}

export function startRoutes(deps: Deps) {
  return new Hono<AppEnv>().get(
    "/",
    documented({
      summary: "Start page",
      description:
        "Links the API reference, this document, the compliance workbench and, when no SendGrid key is set, the local outbox.",
      tag: "Meta",
      auth: "public",
      html: true,
    }),
    async (c) =>
      c.html(
        `<!doctype html>${await (<StartPage outbox={deps.provider.name === "outbox"} publicUrl={deps.publicUrl} />).toString()}`,
        200,
        STAFF_PAGE_HEADERS,
      ),
  );
}
