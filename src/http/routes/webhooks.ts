import { Hono } from "hono";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../domain/sendgrid-signature.js";
import type { Deps } from "../../services/deps.js";
import { receiveSendGridEvents } from "../../services/webhooks/receive-sendgrid-events.js";
import type { AppEnv } from "../env.js";
import { documented } from "../openapi.js";
import { WebhookReportSchema } from "../schemas.js";

/** Provider webhooks: authenticated by the provider's signature, not by an API key. */
export function webhookRoutes(deps: Deps) {
  return new Hono<AppEnv>().post(
    "/webhooks/sendgrid/:tenant",
    documented({
      summary: "SendGrid Event Webhook",
      description: `SendGrid's signed Event Webhook for one tenant (set its URL and verification key in \`/v1/settings\`). The ECDSA signature (\`${SIGNATURE_HEADER}\`, over \`${TIMESTAMP_HEADER}\` followed by the raw body) is verified with the tenant's public key, the body hashed as it streams in; the headers' shape and the signing time are checked before a byte of the body is read. A missing, malformed or bad signature is \`401 /problems/invalid-signature\`, a signing time more than 10 minutes from now \`401 /problems/stale-webhook\`, a body over 1 MiB (SendGrid posts batches of up to 768 KB) \`413 /problems/payload-too-large\`. Hard bounces and spam complaints become suppressions, unsubscribes objections, group resubscribes consent, opens and clicks engagement (machine opens ignored); delivery events update the justification's status. Events are deduplicated by \`sg_event_id\` and a POST applies in one transaction, so redelivery changes nothing. Events naming no justification of this tenant (mail sent before Grounds or by another way) count by their address: unsubscribes, group unsubscribes, spam reports and hard bounces become evidence, opens and clicks engagement; their delivery statuses are kept and reported as \`unmatched\`.`,
      tag: "Webhooks",
      auth: "public",
      response: WebhookReportSchema,
    }),
    async (c) => {
      // The raw stream, unread: the headers are checked before the body is
      // read, and the signature covers its bytes exactly as sent.
      const report = await receiveSendGridEvents(deps, c.req.param("tenant"), {
        signature: c.req.header(SIGNATURE_HEADER),
        timestamp: c.req.header(TIMESTAMP_HEADER),
        contentLength: c.req.header("content-length"),
        body: c.req.raw.body,
      });
      return c.json(report);
    },
  );
}
