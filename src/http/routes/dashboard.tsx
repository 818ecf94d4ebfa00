import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { JSX } from "hono/jsx/jsx-runtime";
import { isValidAddress } from "../../domain/address.js";
import { ProblemError } from "../../problems.js";
import { authenticateKey } from "../../services/authenticate.js";
import { logState } from "../../services/dashboard/log-state.js";
import { messageView } from "../../services/dashboard/message-view.js";
import { dashboardStats } from "../../services/dashboard/stats.js";
import type { Deps } from "../../services/deps.js";
import { exportProofs, type ProofFilters } from "../../services/proofs/export-proofs.js";
import { verifyIntegrity } from "../../services/proofs/verify-integrity.js";
import { accessSubject } from "../../services/subjects/access.js";
import { lookUpSubject } from "../../services/subjects/look-up-subject.js";
import { listTopics } from "../../services/topics.js";
import {
  randomToken,
  readSession,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  type Session,
  SIGN_IN_COOKIE,
  sameToken,
  signSession,
} from "../dashboard-session.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import {
  DASHBOARD_HEADERS,
  DashboardPage,
  LogPage,
  MessagePage,
  SignInPage,
  SubjectPage,
} from "../pages/dashboard.js";

/**
 * The compliance dashboard (docs/design.md §5 `/dashboard`). A person signs in with a
 * `compliance:read` key; the key itself is never stored in the browser: the
 * session cookie holds a signed (HMAC) token naming the key's id, and is
 * HttpOnly (no script reads it), SameSite=Strict (no other site's request
 * carries it) and Secure over https. Every form carries a CSRF token, checked
 * against the session (or, at sign-in, against a cookie: double submit), and
 * a cross-origin `Origin` is refused.
 */
export function dashboardRoutes(deps: Deps) {
  // Behind a TLS-terminating proxy the request arrives as http: the proxy's
  // X-Forwarded-Proto (trusted proxies only) says the client used https.
  const secure = (c: Context<AppEnv>) =>
    new URL(c.req.url).protocol === "https:" || (deps.forwardedOverTls?.(c) ?? false);
  const cookieOptions = (c: Context<AppEnv>, maxAgeMs: number) => ({
    httpOnly: true,
    sameSite: "Strict" as const,
    secure: secure(c),
    path: "/dashboard",
    maxAge: Math.floor(maxAgeMs / 1000),
  });
  const page = async (
    c: Context<AppEnv>,
    html: string | Promise<string>,
    status: 200 | 400 | 403 = 200,
  ) => {
    for (const [name, value] of Object.entries(DASHBOARD_HEADERS)) c.header(name, value);
    return c.html(`<!doctype html>${await html}`, status);
  };
  /** The form's `csrf` and `key` fields; an unreadable body has none. */
  const formOf = async (c: Context<AppEnv>) => {
    try {
      const body = await c.req.parseBody();
      const text = (name: string): string | undefined => {
        const value = body[name];
        return typeof value === "string" ? value : undefined;
      };
      return { csrf: text("csrf"), key: text("key"), email: text("email") };
    } catch {
      return { csrf: undefined, key: undefined, email: undefined };
    }
  };
  const sameOrigin = (c: Context<AppEnv>) => {
    const origin = c.req.header("origin");
    return !origin || origin === new URL(c.req.url).origin;
  };
  const signIn = (c: Context<AppEnv>, error?: string, status: 200 | 400 | 403 = 200) => {
    const csrf = randomToken();
    setCookie(c, SIGN_IN_COOKIE, csrf, cookieOptions(c, 60 * 60_000));
    return page(c, (<SignInPage csrf={csrf} error={error} />).toString(), status);
  };

  /**
   * A workbench page for the session's tenant; without a session, the sign-in
   * page. `render` answers null when the form is not the session's own.
   */
  const signedIn = async (
    c: Context<AppEnv>,
    render: (session: Session) => JSX.Element | null | Promise<JSX.Element | null>,
  ) => {
    const session = await readSession(deps, getCookie(c, SESSION_COOKIE));
    if (!session) return signIn(c);
    const node = await render(session);
    if (node === null) return c.text("Forbidden", 403);
    return page(c, node.toString());
  };

  return (
    new Hono<AppEnv>()
      // A sign-in form is a few hundred bytes.
      .use(
        "/dashboard/*",
        bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text("Too large", 413) }),
      )
      .get(
        "/dashboard",
        documented({
          summary: "The compliance workbench",
          description:
            "Its sign-in page without a session. Signed in: what was sent and suppressed, and why; objections, complaints and data-subject requests; proof exports.",
          tag: "Workbench",
          auth: "session",
          html: true,
        }),
        async (c) => {
          const session = await readSession(deps, getCookie(c, SESSION_COOKIE));
          if (!session) return signIn(c);
          const now = deps.clock();
          const [stats, topics] = await Promise.all([
            dashboardStats(deps, session.tenant.id, now),
            listTopics(deps, session.tenant.id),
          ]);
          return page(
            c,
            (
              <DashboardPage
                topics={topics.map((t) => t.id)}
                brand={session.tenant.name}
                csrf={session.csrf}
                stats={stats}
                now={now}
              />
            ).toString(),
          );
        },
      )
      .post(
        "/dashboard/sign-in",
        documented({
          summary: "Sign in to the workbench",
          description:
            "A form post (`key`, `csrf`) from the sign-in page: a key with scope `compliance:read` starts a session (an HttpOnly, SameSite=Strict cookie naming the key's id, never the key) and goes to `/dashboard`.",
          tag: "Workbench",
          auth: "public",
          status: 303,
          html: true,
        }),
        async (c) => {
          const form = await formOf(c);
          if (!sameOrigin(c) || !sameToken(form.csrf, getCookie(c, SIGN_IN_COOKIE))) {
            return signIn(c, "The form expired. Please sign in again.", 403);
          }
          const key = form.key?.trim() ?? "";
          let principal: Awaited<ReturnType<typeof authenticateKey>>;
          try {
            principal = await authenticateKey(deps, key, "compliance:read");
          } catch (error) {
            if (!(error instanceof ProblemError)) throw error;
            // The same answer for an unknown key and one without the scope.
            return signIn(
              c,
              "This key was not accepted (it needs the compliance:read scope).",
              403,
            );
          }
          deleteCookie(c, SIGN_IN_COOKIE, { path: "/dashboard" });
          setCookie(
            c,
            SESSION_COOKIE,
            signSession(deps, principal.tenant.id, principal.keyId, randomToken()),
            cookieOptions(c, SESSION_LIFETIME_MS),
          );
          return c.redirect("/dashboard", 303);
        },
      )
      .post(
        "/dashboard/sign-out",
        documented({
          summary: "Sign out of the workbench",
          tag: "Workbench",
          auth: "session",
          status: 303,
          html: true,
        }),
        async (c) => {
          const session = await readSession(deps, getCookie(c, SESSION_COOKIE));
          const form = await formOf(c);
          if (session && (!sameOrigin(c) || !sameToken(form.csrf, session.csrf))) {
            return c.text("Forbidden", 403);
          }
          deleteCookie(c, SESSION_COOKIE, { path: "/dashboard" });
          return c.redirect("/dashboard", 303);
        },
      )
      .get(
        "/dashboard/export",
        documented({
          summary: "Download proofs from the workbench",
          description:
            "What `GET /v1/proofs` streams for the session's tenant, with its filters: `from` and `to` (UTC days, `YYYY-MM-DD`, inclusive), `topic`, `decision`, `messageId`, `format`.",
          tag: "Workbench",
          auth: "session",
        }),
        async (c) => {
          // A GET that changes nothing: the SameSite=Strict cookie is enough.
          const session = await readSession(deps, getCookie(c, SESSION_COOKIE));
          if (!session) return c.redirect("/dashboard", 303);
          const format = c.req.query("format") === "csv" ? "csv" : "ndjson";
          const { stream } = await exportProofs(
            deps,
            session.tenant.id,
            exportFilters((name) => c.req.query(name)),
            format,
          );
          const day = new Date(deps.clock()).toISOString().slice(0, 10);
          return new Response(stream, {
            headers: {
              "content-type":
                format === "csv"
                  ? "text/csv; charset=utf-8; header=present"
                  : "application/x-ndjson",
              "content-disposition": `attachment; filename="proofs-${day}.${format}"`,
              "cache-control": "no-store",
            },
          });
        },
      )
      .get(
        "/dashboard/subject",
        documented({
          summary: "The workbench's look-up page",
          tag: "Workbench",
          auth: "session",
          html: true,
        }),
        (c) =>
          signedIn(c, (session) => <SubjectPage brand={session.tenant.name} csrf={session.csrf} />),
      )
      .post(
        "/dashboard/subject",
        documented({
          summary: "Look a person up",
          description:
            "A form post (`email`, `csrf`): the person's evidence timeline and every justification about them — decision, basis, reasons, rule set, trace and the evidence it rested on. Registers no data-subject request (`GET /v1/subjects/{email}` does).",
          tag: "Workbench",
          auth: "session",
          html: true,
        }),
        async (c) => {
          const form = await formOf(c);
          return signedIn(c, async (session) => {
            if (!sameOrigin(c) || !sameToken(form.csrf, session.csrf)) return null;
            const email = form.email?.trim() ?? "";
            const shown = { brand: session.tenant.name, csrf: session.csrf, email };
            if (!isValidAddress(email)) {
              return <SubjectPage {...shown} error="This is not a valid e-mail address." />;
            }
            const lookup = await lookUpSubject(deps, session.tenant.id, email);
            return <SubjectPage {...shown} lookup={lookup} />;
          });
        },
      )
      .post(
        "/dashboard/access-requests",
        documented({
          summary: "Register and answer an access request",
          description:
            "A form post (`email`, `csrf`) for a person who asked (GDPR Art. 15, 20): records the request with its one-month deadline, answered, and downloads what `GET /v1/subjects/{email}` answers.",
          tag: "Workbench",
          auth: "session",
        }),
        async (c) => {
          const session = await readSession(deps, getCookie(c, SESSION_COOKIE));
          if (!session) return c.redirect("/dashboard", 303);
          const form = await formOf(c);
          if (!sameOrigin(c) || !sameToken(form.csrf, session.csrf))
            return c.text("Forbidden", 403);
          const email = form.email?.trim() ?? "";
          if (!isValidAddress(email)) return c.redirect("/dashboard/subject", 303);
          const answer = await accessSubject(deps, session.tenant.id, email);
          const day = new Date(deps.clock()).toISOString().slice(0, 10);
          return c.body(JSON.stringify(answer, null, 2), 200, {
            "content-type": "application/json; charset=utf-8",
            "content-disposition": `attachment; filename="access-request-${day}.json"`,
            "cache-control": "no-store",
          });
        },
      )
      .get(
        "/dashboard/messages",
        documented({
          summary: "Open a message by id",
          description: "The message-id form: goes to `/dashboard/messages/{id}`.",
          tag: "Workbench",
          auth: "session",
          status: 303,
          html: true,
        }),
        (c) =>
          c.redirect(
            `/dashboard/messages/${encodeURIComponent(c.req.query("id")?.trim() ?? "")}`,
            303,
          ),
      )
      .get(
        "/dashboard/messages/:id",
        documented({
          summary: "A message's page",
          description:
            "Its state, recipients sent and suppressed (by basis and reason), delivery status and chunks.",
          tag: "Workbench",
          auth: "session",
          html: true,
        }),
        (c) =>
          signedIn(c, async (session) => {
            const id = c.req.param("id");
            const message = await messageView(deps, session.tenant.id, id);
            return (
              <MessagePage
                brand={session.tenant.name}
                csrf={session.csrf}
                id={id}
                message={message}
              />
            );
          }),
      )
      .get(
        "/dashboard/log",
        documented({
          summary: "The proof log's state",
          description:
            "Each log's latest entry and checkpoint, the last anchor; with `verify=1`, the integrity report of `GET /v1/integrity`.",
          tag: "Workbench",
          auth: "session",
          html: true,
        }),
        (c) =>
          signedIn(c, async (session) => {
            const [state, integrity] = await Promise.all([
              logState(deps, session.tenant.id),
              c.req.query("verify") === "1" ? verifyIntegrity(deps, session.tenant.id) : undefined,
            ]);
            return (
              <LogPage
                brand={session.tenant.name}
                csrf={session.csrf}
                state={state}
                integrity={integrity}
              />
            );
          }),
      )
  );
}

/** The export form's filters, as `GET /v1/proofs` takes them; a day is a whole UTC day. */
function exportFilters(query: (name: string) => string | undefined): ProofFilters {
  const day = (name: string) => {
    const value = query(name)?.trim() ?? "";
    return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))
      ? value
      : undefined;
  };
  const from = day("from");
  const to = day("to");
  const topic = query("topic")?.trim();
  const messageId = query("messageId")?.trim();
  const decision = query("decision");
  return {
    ...(from ? { from: `${from}T00:00:00.000Z` } : {}),
    ...(to ? { to: `${to}T23:59:59.999Z` } : {}),
    ...(topic ? { topic: topic.slice(0, 100) } : {}),
    ...(messageId ? { messageId: messageId.slice(0, 100) } : {}),
    ...(decision === "send" || decision === "suppress" ? { decision } : {}),
  };
}
