import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidence, providerEvents } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import type { WebhookReport } from "../../src/services/webhooks/receive-sendgrid-events.js";
import { ago, decisionOf, erase, expectProblem, grant } from "../http/helpers.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { letTimePass, RUNTIMES, servicesBeside, subjectKeyOf } from "../support/runtimes.js";
import {
  addJustification,
  justificationRow,
  nowSeconds,
  patchSettings,
  postWebhook,
  sgEvent,
  type WebhookKeys,
  webhookKeys,
} from "./helpers.js";

/**
 * SendGrid's signed Event Webhook (issue #5): what the provider learns comes
 * back into Grounds' evidence at once, exactly once, whatever the order, and
 * nothing forged or replayed changes anything.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  /** Seeds justifications (as the send path writes them) into the gateway's database. */
  let services: Awaited<ReturnType<typeof servicesBeside>>;
  let key: string;
  let tenantId: string;
  let keys: WebhookKeys;
  let other: { tenantId: string; key: string; keys: WebhookKeys };

  beforeAll(async () => {
    gw = await runtime.start();
    services = await servicesBeside(gw);
    ({ key, tenantId } = await createTenantWithTopics(gw));
    keys = await webhookKeys();
    await patchSettings(gw, key, {
      sendgrid: { webhookPublicKey: keys.publicKey, asmGroups: { "42": "tips", "7": "invoices" } },
    });
    const second = await createTenantWithTopics(gw, { name: "Second brand" });
    const secondKeys = await webhookKeys();
    await patchSettings(gw, second.key, { sendgrid: { webhookPublicKey: secondKeys.publicKey } });
    other = { ...second, keys: secondKeys };
  });

  afterAll(async () => {
    services?.close();
    await gw?.stop();
  });

  let addressCounter = 0;
  /** A fresh recipient with a consent to `tips` and `deals-lenses` a month ago. */
  async function consentingRecipient(
    consentAgo: { months?: number; days?: number } = { months: 1 },
  ) {
    addressCounter += 1;
    const email = `Recipient.${addressCounter}@Example.com`;
    await grant(gw, key, email, ["tips", "deals-lenses"], ago(gw, consentAgo));
    return email;
  }

  async function post(events: unknown[], target = { tenantId, keys }): Promise<WebhookReport> {
    const res = await postWebhook(gw, target.tenantId, target.keys, events);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return JSON.parse(text) as WebhookReport;
  }

  async function counts() {
    const [events] = await databaseOf(gw).select({ n: count() }).from(providerEvents);
    const [rows] = await databaseOf(gw).select({ n: count() }).from(evidence);
    return { providerEvents: events?.n ?? 0, evidence: rows?.n ?? 0 };
  }

  const minutesAgo = (minutes: number) => gw.clock() - minutes * 60_000;

  describe("the done-when of issue #5", () => {
    it("a hard bounce reported by SendGrid stops the next marketing message to that address", async () => {
      const email = await consentingRecipient();
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
      const jid = await addJustification(services, tenantId, email, "tips");
      // Once: on workerd the clock is the real one, and may pass a second in between.
      const bouncedAt = minutesAgo(4);
      const report = await post([
        sgEvent("processed", jid, email, minutesAgo(5)),
        sgEvent("bounce", jid, email, bouncedAt, {
          type: "bounce",
          status: "5.1.1",
          reason: `550 5.1.1 <${email}>: Recipient address rejected: User unknown`,
          bounce_classification: "Invalid Address",
        }),
      ]);
      expect(report).toMatchObject({ received: 2, applied: 2, evidence: 1, unmatched: 0 });
      for (const topic of ["tips", "deals-lenses", "invoices"]) {
        const decision = await decisionOf(gw, key, email, topic);
        expect(decision.decision, topic).toBe("suppress");
        expect(decision.reasons).toEqual(["hard-bounce"]);
      }
      const row = await justificationRow(services, jid);
      expect(row.status).toBe("bounced");
      expect(row.statusAt).toBe(Math.floor(bouncedAt / 1000) * 1000);
      expect(row.providerMessageId).toBe("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0");
      // The reason is kept for staff, without the address it quoted.
      expect(row.error).toContain("User unknown");
      expect(row.error).not.toContain("Example.com");
      expect(row.error).not.toContain("example.com");
    });

    it("a spam complaint stops every marketing topic, but not service messages", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      const report = await post([
        sgEvent("delivered", jid, email, minutesAgo(30)),
        sgEvent("spamreport", jid, email, minutesAgo(2)),
      ]);
      expect(report).toMatchObject({ applied: 2, evidence: 1 });
      for (const topic of ["tips", "deals-lenses"]) {
        const decision = await decisionOf(gw, key, email, topic);
        expect(decision.decision).toBe("suppress");
        expect(decision.reasons).toEqual(["spam-complaint"]);
      }
      expect((await decisionOf(gw, key, email, "invoices")).decision).toBe("send");
      expect((await justificationRow(services, jid)).status).toBe("delivered");
    });

    it("an open keeps a consent fresh; a machine open does not", async () => {
      // Consent 25 months ago: expired under the 24-month lifetime.
      const email = await consentingRecipient({ months: 25 });
      const machine = await consentingRecipient({ months: 25 });
      const before = await decisionOf(gw, key, email, "tips");
      expect(before.reasons).toEqual(["consent-expired"]);
      const jid = await addJustification(services, tenantId, email, "tips");
      const jidMachine = await addJustification(services, tenantId, machine, "tips");
      const report = await post([
        sgEvent("open", jid, email, minutesAgo(60), {
          sg_machine_open: false,
          useragent: "Mozilla/5.0",
        }),
        sgEvent("open", jidMachine, machine, minutesAgo(60), { sg_machine_open: true }),
      ]);
      expect(report).toMatchObject({ received: 2, applied: 1, ignored: 1, evidence: 1 });
      const after = await decisionOf(gw, key, email, "tips");
      expect(after.decision).toBe("send");
      expect(after.basis).toBe("consent");
      expect(after.evidence.map((e) => e.kind)).toContain("engagement");
      expect((await decisionOf(gw, key, machine, "tips")).reasons).toEqual(["consent-expired"]);
    });

    it("a click keeps a consent fresh too", async () => {
      const email = await consentingRecipient({ months: 25 });
      const jid = await addJustification(services, tenantId, email, "deals-lenses");
      await post([
        sgEvent("click", jid, email, minutesAgo(10), { url: "https://optika.example/x" }),
      ]);
      expect((await decisionOf(gw, key, email, "deals-lenses")).decision).toBe("send");
    });

    it("a forged or replayed webhook changes nothing", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      const events = [sgEvent("spamreport", jid, email, minutesAgo(1))];
      const body = JSON.stringify(events);
      const before = await counts();

      // A changed byte: the signature was made over the original body.
      const forged = body.replace("spamreport", "spamrepore");
      await expectProblem(
        await postWebhook(gw, tenantId, keys, forged, { signBody: body }),
        401,
        "invalid-signature",
      );
      // A replay of a captured request, 11 minutes later.
      const stale = nowSeconds(gw, -11 * 60);
      await expectProblem(
        await postWebhook(gw, tenantId, keys, body, { timestamp: stale }),
        401,
        "stale-webhook",
      );
      expect(await counts()).toEqual(before);
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");

      // The genuine one applies once; a replay within the window is a duplicate.
      const genuine = await post(events);
      expect(genuine).toMatchObject({ applied: 1, evidence: 1 });
      const after = await counts();
      const replay = await post(events);
      expect(replay).toMatchObject({ received: 1, duplicates: 1, applied: 0, evidence: 0 });
      expect(await counts()).toEqual(after);
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["spam-complaint"]);
    });
  });

  describe("every event type", () => {
    it("maps delivery events to the justification's status and the provider's message id", async () => {
      const email = await consentingRecipient();
      const processed = await addJustification(services, tenantId, email, "tips", "pending");
      const delivered = await addJustification(services, tenantId, email, "tips");
      const deferred = await addJustification(services, tenantId, email, "tips");
      const dropped = await addJustification(services, tenantId, email, "tips");
      const blocked = await addJustification(services, tenantId, email, "tips");
      const blockedEvent = await addJustification(services, tenantId, email, "tips");
      const before = await counts();
      const report = await post([
        sgEvent("processed", processed, email, minutesAgo(9), { sg_message_id: "pm-1.filter" }),
        sgEvent("delivered", delivered, email, minutesAgo(8), { response: "250 OK" }),
        sgEvent("deferred", deferred, email, minutesAgo(7), {
          response: "400 try again later",
          attempt: "5",
        }),
        sgEvent("dropped", dropped, email, minutesAgo(6), {
          reason: "Bounced Address",
          status: "5.0.0",
        }),
        sgEvent("bounce", blocked, email, minutesAgo(5), {
          type: "blocked",
          reason: "550 IP listed on a blocklist",
          status: "5.7.1",
        }),
        sgEvent("blocked", blockedEvent, email, minutesAgo(5), { reason: "blocked" }),
      ]);
      expect(report).toMatchObject({
        received: 6,
        applied: 6,
        evidence: 0,
        ignored: 0,
        unmatched: 0,
      });
      // Delivery status only: no evidence, and the address is still mailable.
      expect((await counts()).evidence).toBe(before.evidence);
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
      expect(await justificationRow(services, processed)).toMatchObject({
        status: "accepted",
        providerMessageId: "pm-1.filter",
      });
      expect((await justificationRow(services, delivered)).status).toBe("delivered");
      expect(await justificationRow(services, deferred)).toMatchObject({
        status: "deferred",
        error: "400 try again later",
      });
      expect(await justificationRow(services, dropped)).toMatchObject({
        status: "dropped",
        error: "5.0.0 Bounced Address",
      });
      expect(await justificationRow(services, blocked)).toMatchObject({
        status: "blocked",
        error: "5.7.1 550 IP listed on a blocklist",
      });
      expect((await justificationRow(services, blockedEvent)).status).toBe("blocked");
    });

    it("records unsubscribe as an objection to all marketing, from the provider", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      const unsubscribedAt = minutesAgo(1);
      const report = await post([sgEvent("unsubscribe", jid, email, unsubscribedAt)]);
      expect(report).toMatchObject({ applied: 1, evidence: 1 });
      for (const topic of ["tips", "deals-lenses"]) {
        expect((await decisionOf(gw, key, email, topic)).reasons).toEqual(["objected"]);
      }
      const [row] = await databaseOf(gw)
        .select()
        .from(evidence)
        .where(
          and(
            eq(evidence.subjectKey, subjectKeyOf(tenantId, normaliseAddress(email))),
            eq(evidence.kind, "objection"),
          ),
        );
      expect(row).toMatchObject({
        topic: "*",
        occurredAt: Math.floor(unsubscribedAt / 1000) * 1000,
      });
      expect(row?.data).toMatchObject({
        channel: "provider",
        provider: "sendgrid",
        justificationId: jid,
      });
      expect(row?.personal).toBeNull();
    });

    it("records group_unsubscribe as an objection to the group's topic only", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      await post([sgEvent("group_unsubscribe", jid, email, minutesAgo(3), { asm_group_id: 42 })]);
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["objected"]);
      expect((await decisionOf(gw, key, email, "deals-lenses")).decision).toBe("send");
    });

    it("an unsubscribe from an unmapped group objects to the topic of the message it came with", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "deals-lenses");
      const report = await post([
        sgEvent("group_unsubscribe", jid, email, minutesAgo(3), { asm_group_id: 999 }),
      ]);
      expect(report).toMatchObject({ applied: 1, evidence: 1 });
      expect((await decisionOf(gw, key, email, "deals-lenses")).reasons).toEqual(["objected"]);
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
    });

    it("records group_resubscribe as consent to the group's topic; an unmapped group is ignored", async () => {
      addressCounter += 1;
      const email = `resubscriber.${addressCounter}@example.com`;
      const jid = await addJustification(services, tenantId, email, "tips");
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("suppress");
      const report = await post([
        sgEvent("group_unsubscribe", jid, email, minutesAgo(20), { asm_group_id: 42 }),
        sgEvent("group_resubscribe", jid, email, minutesAgo(10), { asm_group_id: "42" }),
        sgEvent("group_resubscribe", jid, email, minutesAgo(10), { asm_group_id: 999 }),
        // A group mapped to a service topic takes no consent.
        sgEvent("group_resubscribe", jid, email, minutesAgo(10), { asm_group_id: 7 }),
      ]);
      expect(report).toMatchObject({ received: 4, applied: 2, ignored: 2, evidence: 2 });
      const decision = await decisionOf(gw, key, email, "tips");
      expect(decision.decision).toBe("send");
      expect(decision.basis).toBe("consent");
      expect((await decisionOf(gw, key, email, "deals-lenses")).decision).toBe("suppress");
    });

    it("ignores event types it has no use for, and keeps them", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      const report = await post([sgEvent("account_status_change", jid, email, minutesAgo(1))]);
      expect(report).toMatchObject({ received: 1, ignored: 1, applied: 0 });
    });
  });

  describe("at least once in, exactly once in effect", () => {
    it("a redelivered batch changes nothing", async () => {
      const email = await consentingRecipient({ months: 25 });
      const jid = await addJustification(services, tenantId, email, "tips");
      const batch = [
        sgEvent("processed", jid, email, minutesAgo(9)),
        sgEvent("delivered", jid, email, minutesAgo(8)),
        sgEvent("open", jid, email, minutesAgo(7)),
        sgEvent("click", jid, email, minutesAgo(6)),
        sgEvent("group_unsubscribe", jid, email, minutesAgo(5), { asm_group_id: 42 }),
      ];
      const first = await post(batch);
      expect(first).toMatchObject({ received: 5, applied: 5, evidence: 3, duplicates: 0 });
      const snapshot = { counts: await counts(), row: await justificationRow(services, jid) };
      for (let i = 0; i < 5; i++) {
        const again = await post(batch);
        expect(again).toMatchObject({ received: 5, duplicates: 5, applied: 0, evidence: 0 });
      }
      // Redelivered in pieces and shuffled, too.
      await post([batch[3], batch[0]]);
      await post([...batch].reverse());
      expect(await counts()).toEqual(snapshot.counts);
      expect(await justificationRow(services, jid)).toEqual(snapshot.row);
    });

    it("the same event twice in one batch counts once", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      const event = sgEvent("open", jid, email, minutesAgo(1));
      const report = await post([event, event]);
      expect(report).toMatchObject({ received: 2, duplicates: 1, applied: 1, evidence: 1 });
    });

    it("out-of-order delivery never moves a status backwards", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      await post([sgEvent("delivered", jid, email, minutesAgo(5))]);
      await post([
        sgEvent("deferred", jid, email, minutesAgo(7)),
        sgEvent("processed", jid, email, minutesAgo(9)),
      ]);
      expect((await justificationRow(services, jid)).status).toBe("delivered");
      // A later bounce after delivery (an asynchronous bounce) does count.
      await post([
        sgEvent("bounce", jid, email, minutesAgo(1), { type: "bounce", reason: "gone" }),
      ]);
      expect((await justificationRow(services, jid)).status).toBe("bounced");
      await post([sgEvent("delivered", jid, email, minutesAgo(3))]);
      expect((await justificationRow(services, jid)).status).toBe("bounced");
    });

    it("out-of-order evidence is ordered by when it happened", async () => {
      // The resubscribe happened last but arrives first: the consent stands.
      const a = await consentingRecipient();
      const ja = await addJustification(services, tenantId, a, "tips");
      await post([sgEvent("group_resubscribe", ja, a, minutesAgo(5), { asm_group_id: 42 })]);
      await post([sgEvent("group_unsubscribe", ja, a, minutesAgo(10), { asm_group_id: 42 })]);
      expect((await decisionOf(gw, key, a, "tips")).decision).toBe("send");
      // The unsubscribe happened last but arrives first: the objection stands.
      const b = await consentingRecipient();
      const jb = await addJustification(services, tenantId, b, "tips");
      await post([sgEvent("group_unsubscribe", jb, b, minutesAgo(5), { asm_group_id: 42 })]);
      await post([sgEvent("group_resubscribe", jb, b, minutesAgo(10), { asm_group_id: 42 })]);
      expect((await decisionOf(gw, key, b, "tips")).reasons).toEqual(["objected"]);
    });

    it("counts an event for mail Grounds did not send by its address: the next send stops", async () => {
      const unsubscribed = await consentingRecipient();
      const complained = await consentingRecipient();
      const bounced = await consentingRecipient();
      const grouped = await consentingRecipient();
      const unmapped = await consentingRecipient();
      const stale = await consentingRecipient({ months: 26 });
      const delivered = await consentingRecipient();
      const events = [
        sgEvent("unsubscribe", null, unsubscribed, minutesAgo(3)),
        sgEvent("spamreport", "jus_0000000000000000000000000000000a", complained, minutesAgo(3)),
        sgEvent("bounce", null, bounced.toUpperCase(), minutesAgo(3), { type: "bounce" }),
        sgEvent("group_unsubscribe", null, grouped, minutesAgo(3), { asm_group_id: 42 }),
        sgEvent("group_unsubscribe", null, unmapped, minutesAgo(3), { asm_group_id: 99 }),
        sgEvent("open", null, stale, minutesAgo(3)),
        sgEvent("delivered", null, delivered, minutesAgo(3)),
      ];
      const before = await counts();
      const report = await post(events);
      expect(report).toMatchObject({ received: 7, applied: 6, evidence: 6, unmatched: 1 });
      expect(report.unmatchedEvents.map((e) => e.detail)).toEqual(["no justification_id"]);
      expect((await decisionOf(gw, key, unsubscribed, "tips")).reasons).toEqual(["objected"]);
      expect((await decisionOf(gw, key, complained, "tips")).reasons).toEqual(["spam-complaint"]);
      expect((await decisionOf(gw, key, bounced, "invoices")).reasons).toEqual(["hard-bounce"]);
      // ASM group 42 is mapped to `tips`: that topic stops, the others do not.
      expect((await decisionOf(gw, key, grouped, "tips")).reasons).toEqual(["objected"]);
      expect((await decisionOf(gw, key, grouped, "deals-lenses")).decision).toBe("send");
      // An unmapped group of mail Grounds did not send: nothing narrower is known than all marketing.
      expect((await decisionOf(gw, key, unmapped, "deals-lenses")).reasons).toEqual(["objected"]);
      // The open keeps a 26-month-old consent fresh.
      expect((await decisionOf(gw, key, stale, "tips")).decision).toBe("send");
      expect((await decisionOf(gw, key, delivered, "tips")).decision).toBe("send");

      // A replay, or the same events again in a later POST, has no second effect.
      const again = await post(events);
      expect(again).toMatchObject({ received: 7, duplicates: 7, evidence: 0 });
      expect((await counts()).evidence).toBe(before.evidence + 6);

      const rows = await databaseOf(gw)
        .select()
        .from(providerEvents)
        .where(eq(providerEvents.tenantId, tenantId));
      expect(JSON.stringify(rows).toLowerCase()).not.toContain("recipient.");
      expect(rows.map((r) => r.subjectKey)).toContain(
        subjectKeyOf(tenantId, normaliseAddress(bounced)),
      );
    });

    it("counts an address Grounds has never seen, and keeps a delivery status it cannot place", async () => {
      const email = "Stranger@Example.org";
      const report = await post([
        sgEvent("spamreport", "jus_0000000000000000000000000000000b", email, minutesAgo(1)),
        sgEvent("dropped", null, email, minutesAgo(1)),
        sgEvent("unsubscribe", null, "not an address", minutesAgo(1)),
      ]);
      expect(report).toMatchObject({ received: 3, applied: 1, evidence: 1, unmatched: 2 });
      expect((await decisionOf(gw, key, email, "invoices")).decision).toBe("send");
      const tips = await decisionOf(gw, key, email, "tips");
      expect(tips.reasons).toEqual(["spam-complaint"]);
    });

    it("keeps malformed events as invalid, and refuses a body that is not a JSON array", async () => {
      const report = await post([{ event: "open" }, 42, { sg_event_id: "x1", timestamp: 1 }]);
      expect(report).toMatchObject({ received: 3, invalid: 3 });
      await expectProblem(await postWebhook(gw, tenantId, keys, "{not json"), 400, "invalid-json");
      await expectProblem(
        await postWebhook(gw, tenantId, keys, { event: "open" }),
        400,
        "invalid-request",
      );
    });

    it("refuses a signed body over 1 MiB (SendGrid's batches stop at 768 KB)", async () => {
      const huge = `[${'"x",'.repeat(270_000)}"x"]`;
      await expectProblem(await postWebhook(gw, tenantId, keys, huge), 413, "payload-too-large");
    });
  });

  describe("signature and tenant", () => {
    let email: string;
    let jid: string;
    let events: Record<string, unknown>[];

    beforeAll(async () => {
      email = await consentingRecipient();
      jid = await addJustification(services, tenantId, email, "tips");
      events = [sgEvent("spamreport", jid, email, minutesAgo(1))];
    });

    async function refused(res: Response, type = "invalid-signature") {
      const before = await counts();
      await expectProblem(res, 401, type);
      expect(await counts()).toEqual(before);
    }

    it("refuses missing headers", async () => {
      await refused(await postWebhook(gw, tenantId, keys, events, { signature: null }));
      await refused(await postWebhook(gw, tenantId, keys, events, { omitTimestamp: true }));
      await refused(await postWebhook(gw, tenantId, keys, events, { timestamp: "yesterday" }));
    });

    it("refuses a wrong key, a garbled signature and a stale or future timestamp", async () => {
      const stranger = await webhookKeys();
      await refused(await postWebhook(gw, tenantId, stranger, events));
      await refused(await postWebhook(gw, tenantId, keys, events, { signature: "MEUCIQ==" }));
      await refused(
        await postWebhook(gw, tenantId, keys, events, { timestamp: nowSeconds(gw, -601) }),
        "stale-webhook",
      );
      await refused(
        await postWebhook(gw, tenantId, keys, events, { timestamp: nowSeconds(gw, 601) }),
        "stale-webhook",
      );
      // Within 10 minutes either way is accepted (clock skew).
      const res = await postWebhook(
        gw,
        tenantId,
        keys,
        [sgEvent("open", jid, email, minutesAgo(1))],
        {
          timestamp: nowSeconds(gw, -590),
        },
      );
      expect(res.status).toBe(200);
    });

    it("refuses another tenant's key, and a tenant's request sent to another tenant's URL", async () => {
      await refused(await postWebhook(gw, tenantId, other.keys, events));
      await refused(await postWebhook(gw, other.tenantId, keys, events));
      // An unknown tenant is refused exactly like a bad signature.
      const unknown = await postWebhook(gw, "ten_doesnotexist", keys, events);
      const wrongKey = await postWebhook(gw, tenantId, other.keys, events);
      expect(await unknown.text()).toBe(await wrongKey.text());
      expect(unknown.status).toBe(401);
    });

    it("an event naming another tenant's justification counts there by address only, and changes nothing here", async () => {
      const report = await post(events, { tenantId: other.tenantId, keys: other.keys });
      expect(report).toMatchObject({ received: 1, applied: 1, evidence: 1 });
      // Its justification is not touched, nor is this tenant's evidence of the address.
      expect((await justificationRow(services, jid)).status).toBe("accepted");
      expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
      // The complaint came through the other tenant's own SendGrid account: it counts there.
      expect((await decisionOf(gw, other.key, email, "tips")).reasons).toEqual(["spam-complaint"]);
    });

    it("refuses everything while the tenant has no webhook key", async () => {
      await patchSettings(gw, other.key, { sendgrid: { webhookPublicKey: null } });
      await refused(await postWebhook(gw, other.tenantId, other.keys, events));
      await patchSettings(gw, other.key, { sendgrid: { webhookPublicKey: other.keys.publicKey } });
    });
  });

  describe("erasure", () => {
    it("keeps a late spam complaint about an erased address, and ignores a late open", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips");
      await erase(gw, key, email);
      const report = await post([
        sgEvent("spamreport", jid, email, minutesAgo(30)),
        sgEvent("open", jid, email, minutesAgo(31)),
      ]);
      expect(report).toMatchObject({ received: 2, applied: 1, ignored: 1, evidence: 1 });
      // A fresh opt-in after the erasure does not undo the person's complaint.
      await letTimePass(gw);
      await grant(gw, key, email, ["deals-lenses"], new Date(gw.clock()).toISOString());
      expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["spam-complaint"]);
    });

    it("never changes the status of a justification Grounds suppressed", async () => {
      const email = await consentingRecipient();
      const jid = await addJustification(services, tenantId, email, "tips", "suppressed");
      await post([sgEvent("delivered", jid, email, minutesAgo(1))]);
      expect((await justificationRow(services, jid)).status).toBe("suppressed");
    });
  });
});
