import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { tenants } from "../../db/schema.js";
import { inboundParseKey, sameSecret } from "../../domain/inbound-mail.js";
import { MAX_MAIL_BYTES } from "../../domain/sendgrid-mail.js";
import type { Deps } from "../../services/deps.js";
import {
  type InboundMail,
  readRawMail,
  receiveMailtoUnsubscribe,
} from "../../services/preferences/receive-mailto-unsubscribe.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { problemResponse } from "../problem.js";

/**
 * SendGrid Inbound Parse for the mailto of `List-Unsubscribe` (docs/design.md §5).
 * SendGrid posts `multipart/form-data`: with "send raw" the whole message in
 * `email`, else the parsed fields (`subject`, `text`, `html`, `from`, …).
 * The URL carries a secret derived from GROUNDS_SECRET for the tenant
 * (`?key=`, shown in `/v1/settings` as `sendgrid.inboundParseUrl`), since
 * Inbound Parse signs nothing: without it anyone could post unsubscribes.
 */
export function inboundRoutes(deps: Deps) {
  return new Hono<AppEnv>().post(
    "/inbound/sendgrid/:tenant",
    documented({
      summary: "SendGrid Inbound Parse: mailed unsubscribes",
      description:
        "The target of SendGrid's Inbound Parse for the address in the `mailto:` of `List-Unsubscribe` (the tenant's contact address). The URL is `sendgrid.inboundParseUrl` of `/v1/settings`, whose `key` only the gateway can make; any other key or tenant is `404`. A message (raw in `email`, or parsed: `subject`, `text`, `html`) that carries a genuine unsubscribe token of the tenant — the mailto puts it in the subject — records an objection to the token's topic with channel `email`, exactly as a one-click unsubscribe does, before answering `200 {\"recorded\":true}`. Mail without one is no evidence: it is kept for the tenant's staff in the outbox, `200 {\"recorded\":false}` (SendGrid retries anything else).",
      tag: "Recipients",
      auth: "public",
    }),
    bodyLimit({
      maxSize: MAX_MAIL_BYTES,
      onError: () => problemResponse("payload-too-large"),
    }),
    async (c) => {
      const tenantId = c.req.param("tenant");
      const given = c.req.query("key") ?? "";
      if (!sameSecret(given, inboundParseKey(deps.settingsKey, tenantId))) {
        return problemResponse("not-found");
      }
      const tenant = await deps.db.query.tenants.findFirst({ where: eq(tenants.id, tenantId) });
      if (!tenant) return problemResponse("not-found");
      const form = await c.req.parseBody();
      const field = (name: string) => {
        const value = form[name];
        return typeof value === "string" ? value : undefined;
      };
      const raw = form.email;
      let mail: InboundMail;
      if (typeof raw === "string") mail = await readRawMail(raw);
      else if (raw instanceof Blob) mail = await readRawMail(await raw.arrayBuffer());
      else
        mail = {
          subject: field("subject"),
          text: field("text"),
          html: field("html"),
          from: field("from"),
        };
      const outcome = await receiveMailtoUnsubscribe(deps, tenant, mail);
      return c.json({ recorded: outcome.recorded });
    },
  );
}
