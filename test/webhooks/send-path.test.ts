import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../src/db/schema.js";
import { ago, grant } from "../http/helpers.js";
import { databaseOf } from "../support/database.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { movedClock, RUNTIMES, servicesBeside } from "../support/runtimes.js";
import {
  justificationRow,
  patchSettings,
  postWebhook,
  sgEvent,
  type WebhookKeys,
  webhookKeys,
} from "./helpers.js";

/**
 * Issue #5 end to end, through the real send path: a message goes out with
 * `custom_args.justification_id` (as SendGrid echoes it in its events), the
 * signed webhook reports what happened, and the next send obeys it.
 */

interface SendAnswer {
  counts: { send: number; suppress: number };
  results: { email: string; decision: string; reasons: string[]; justificationId: string | null }[];
}

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  /** The gateway's services on its file, to read justifications with. */
  let services: Awaited<ReturnType<typeof servicesBeside>>;
  let key: string;
  let tenantId: string;
  let keys: WebhookKeys;

  beforeAll(async () => {
    gw = await runtime.start();
    services = await servicesBeside(gw);
    ({ key, tenantId } = await createTenantWithTopics(gw));
    keys = await webhookKeys();
    await patchSettings(gw, key, { sendgrid: { webhookPublicKey: keys.publicKey } });
  });

  afterAll(async () => {
    services?.close();
    await gw?.stop();
  });

  async function send(emails: string[]): Promise<SendAnswer> {
    const res = await gw.request("/v1/messages", {
      method: "POST",
      key,
      json: {
        topic: "tips",
        from: { email: "news@optika.example", name: "Optika" },
        subject: "Caring for your glasses",
        html: "<html><body><p>Clean them with a soft cloth.</p></body></html>",
        recipients: emails.map((email) => ({ email })),
      },
    });
    const text = await res.text();
    expect([200, 202], text).toContain(res.status);
    await deliveriesDone(gw);
    return JSON.parse(text) as SendAnswer;
  }

  /** The justification id the provider was handed for a recipient (what SendGrid echoes). */
  async function handedId(email: string): Promise<string> {
    const rows = await databaseOf(gw)
      .select({ justificationId: outbox.justificationId })
      .from(outbox)
      .where(eq(outbox.to, email));
    const id = rows.at(-1)?.justificationId;
    if (!id) throw new Error(`nothing handed to the provider for ${email}`);
    return id;
  }

  async function webhook(events: unknown[]) {
    const res = await postWebhook(gw, tenantId, keys, events);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return JSON.parse(text) as { applied: number; evidence: number; unmatched: number };
  }

  describe("through POST /v1/messages", () => {
    it("a hard bounce and a spam complaint stop the next marketing message; delivery is recorded", async () => {
      const bouncing = "bouncing@example.com";
      const complaining = "complaining@example.com";
      await grant(gw, key, bouncing, ["tips"], ago(gw, { months: 1 }));
      await grant(gw, key, complaining, ["tips"], ago(gw, { months: 1 }));
      const first = await send([bouncing, complaining]);
      expect(first.counts).toEqual({ send: 2, suppress: 0 });
      const bounceId = await handedId(bouncing);
      const complaintId = await handedId(complaining);
      expect(first.results.map((r) => r.justificationId)).toEqual([bounceId, complaintId]);

      const t = gw.clock() - 60_000;
      const report = await webhook([
        sgEvent("processed", bounceId, bouncing, t),
        sgEvent("processed", complaintId, complaining, t),
        sgEvent("bounce", bounceId, bouncing, t + 1000, { type: "bounce", reason: "user unknown" }),
        sgEvent("delivered", complaintId, complaining, t + 1000),
        sgEvent("spamreport", complaintId, complaining, t + 30_000),
      ]);
      expect(report).toMatchObject({ applied: 5, evidence: 2, unmatched: 0 });
      expect((await justificationRow(services, bounceId)).status).toBe("bounced");
      expect((await justificationRow(services, complaintId)).status).toBe("delivered");

      const next = await send([bouncing, complaining]);
      expect(next.counts).toEqual({ send: 0, suppress: 2 });
      expect(next.results.map((r) => r.reasons)).toEqual([["hard-bounce"], ["spam-complaint"]]);
    });

    // Node only: two months must pass on the gateway's clock; workerd's is the real one.
    if (runtime.name === "node") {
      it("an open keeps a consent fresh, so the next message goes", async () => {
        const reader = "reader@example.com";
        await grant(gw, key, reader, ["tips"], ago(gw, { months: 23 }));
        expect((await send([reader])).counts.send).toBe(1);
        const id = await handedId(reader);
        // Two months on, the consent is 25 months old: it would have expired.
        const openedAt = gw.clock() + 3 * 86_400_000;
        movedClock(gw).advance(61 * 86_400_000);
        const report = await webhook([
          sgEvent("open", id, reader, openedAt, { sg_machine_open: false }),
        ]);
        expect(report).toMatchObject({ applied: 1, evidence: 1 });
        const next = await send([reader]);
        expect(next.counts).toEqual({ send: 1, suppress: 0 });
      });
    }
  });
});
