import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { ProblemError } from "../../problems.js";
import { authenticateKey } from "../../services/authenticate.js";
import { dashboardStats } from "../../services/dashboard/stats.js";
import type { Deps } from "../../services/deps.js";
import { exportProofs } from "../../services/proofs/export-proofs.js";
import {
  randomToken,
  readSession,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  SIGN_IN_COOKIE,
  sameToken,
  signSession,
} from "../dashboard-session.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { DASHBOARD_HEADERS, DashboardPage, SignInPage } from "../pages/dashboard.js";

/**
 * The compliance dashboard (DESIGN §5 `/dashboard`). A person signs in with a
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
      return { csrf: text("csrf"), key: text("key") };
    } catch {
      return { csrf: undefined, key: undefined };
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
          const stats = await dashboardStats(deps, session.tenant.id, now);
          return page(
            c,
            (
              <DashboardPage
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
          description: "What `GET /v1/proofs` streams, for the session's tenant.",
          tag: "Workbench",
          auth: "session",
        }),
        async (c) => {
          // A GET that changes nothing: the SameSite=Strict cookie is enough.
          const session = await readSession(deps, getCookie(c, SESSION_COOKIE));
          if (!session) return c.redirect("/dashboard", 303);
          const format = c.req.query("format") === "csv" ? "csv" : "ndjson";
          const { stream } = await exportProofs(deps, session.tenant.id, {}, format);
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
  );
}
