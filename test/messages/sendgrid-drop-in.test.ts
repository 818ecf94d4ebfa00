import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Client } from "@sendgrid/client";
import { MailService } from "@sendgrid/mail";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSendGridProvider } from "../../src/adapters/sendgrid.js";
import { justifications, messages } from "../../src/db/schema.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type SendGridServer, startSendGridServer } from "../support/sendgrid-server.js";
import { consentData, seedEvidence } from "./seed.js";

/**
 * The v3 drop-in end to end (issue: "a faithful drop-in"): the official
 * `@sendgrid/mail` client, set up as the README says, sends through Grounds,
 * and Grounds hands the mail to a server that behaves like SendGrid
 * (test/support/sendgrid-server.ts) with everything the caller gave.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
let server: ReturnType<typeof serve>;
let sendgrid: SendGridServer;
const sgMail = new MailService();

const PDF = Buffer.from("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").toString("base64");
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString(
  "base64",
);

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
  sendgrid = await startSendGridServer({ now: gw.clock });
  gw.deps.provider = createSendGridProvider({
    apiKey: sendgrid.apiKey,
    apiUrl: sendgrid.url,
    maxAttempts: 1,
    now: gw.clock,
  });
  server = serve({ fetch: gw.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The README's setup: the key first (setApiKey() resets the base URL), then the base URL.
  const client = new Client();
  client.setApiKey(key);
  client.setDefaultRequest("baseUrl", baseUrl);
  sgMail.setClient(client);
  const now = gw.clock();
  await seedEvidence(gw, tenantId, [
    {
      email: "jana@dropin.example",
      kind: "consent-granted",
      topic: "tips",
      at: now - 86_400_000,
      data: consentData,
    },
    {
      email: "petr@dropin.example",
      kind: "consent-granted",
      topic: "tips",
      at: now - 86_400_000,
      data: consentData,
    },
  ]);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sendgrid.close();
  await gw.stop();
});

beforeEach(() => sendgrid.reset());

type SendGridFailure = {
  code: number;
  response: { body: { errors: { message: string; field: string | null; help: string }[] } };
};
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (e: SendGridFailure) => e,
  );

describe("a mail with an attachment, custom headers, an unsubscribe tag and a batch id", () => {
  it("arrives at SendGrid intact, with Grounds' links in place of SendGrid's tags", async () => {
    const [response] = await sgMail
      .send({
        personalizations: [
          {
            to: [{ email: "jana@dropin.example", name: "Jana" }],
            customArgs: { order: "2026-117" },
            headers: { "X-Order": "2026-117" },
          },
          { to: [{ email: "petr@dropin.example" }] },
        ],
        from: { email: "news@optika.example", name: "Optika" },
        replyToList: [{ email: "care@optika.example" }, { email: "shop@optika.example" }],
        subject: "Your autumn tips",
        text: "Tips inside. Unsubscribe: [unsubscribe]",
        html: '<p>Tips inside.</p><img src="cid:logo"><a href="<%asm_group_unsubscribe_raw_url%>">Unsubscribe</a> <a href="<%asm_preferences_raw_url%>">Preferences</a>',
        attachments: [
          {
            content: PDF,
            filename: "catalogue.pdf",
            type: "application/pdf",
            disposition: "attachment",
          },
          {
            content: PNG,
            filename: "logo.png",
            type: "image/png",
            disposition: "inline",
            contentId: "logo",
          },
        ],
        headers: { "X-Campaign": "autumn-2026", "X-Entity-Ref-ID": "autumn" },
        batchId: "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi",
        categories: ["autumn"],
        customArgs: { topic: "tips", campaign: "autumn" },
        ipPoolName: "marketing",
        trackingSettings: {
          clickTracking: { enable: true, enableText: false },
          openTracking: { enable: true },
        },
        mailSettings: {
          footer: { enable: true, text: "Optika, since 1990", html: "<p>Optika, since 1990</p>" },
        },
      })
      .catch((e: SendGridFailure) => {
        throw new Error(JSON.stringify(e.response.body));
      });
    expect(response.statusCode).toBe(202);
    const messageId = String(response.headers["x-message-id"]);

    // Delivery runs after the answer, from the queue.
    await deliveriesDone(gw);
    expect(sendgrid.requests).toHaveLength(1);
    const body = sendgrid.requests[0]?.body;
    if (!body) throw new Error("nothing arrived");
    // Byte for byte, with SendGrid's field names.
    expect(body.attachments).toEqual([
      {
        content: PDF,
        filename: "catalogue.pdf",
        type: "application/pdf",
        disposition: "attachment",
      },
      {
        content: PNG,
        filename: "logo.png",
        type: "image/png",
        disposition: "inline",
        content_id: "logo",
      },
    ]);
    expect(body.headers).toEqual({ "X-Campaign": "autumn-2026", "X-Entity-Ref-ID": "autumn" });
    expect(body.batch_id).toBe("HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi");
    expect(body.ip_pool_name).toBe("marketing");
    expect(body.reply_to_list).toEqual([
      { email: "care@optika.example" },
      { email: "shop@optika.example" },
    ]);
    expect(body.categories).toEqual(["autumn"]);
    expect(body.custom_args).toEqual({ campaign: "autumn" });
    expect(body.tracking_settings).toEqual({
      click_tracking: { enable: true, enable_text: false },
      open_tracking: { enable: true },
    });

    const content = body.content ?? [];
    const all = content.map((c) => c.value).join("\n");
    // SendGrid's tags are gone; the caller's footer is in; Grounds' footer follows.
    expect(all).not.toMatch(/<%asm_|\[unsubscribe\]/);
    expect(all).toContain("Optika, since 1990");
    expect(all).toContain("Optika Praha s.r.o.");

    const [jana, petr] = body.personalizations;
    if (!jana || !petr) throw new Error("two personalizations expected");
    expect(jana.to).toEqual([{ email: "jana@dropin.example", name: "Jana" }]);
    // The caller's personalization headers and custom args beside Grounds' own.
    expect(jana.headers?.["X-Order"]).toBe("2026-117");
    expect(jana.custom_args?.order).toBe("2026-117");
    expect(jana.custom_args?.justification_id).toMatch(/^jus_/);
    expect(petr.custom_args?.order).toBeUndefined();
    for (const p of [jana, petr]) {
      const oneClick = /<(https?:\/\/[^>]+\/u\/[A-Za-z0-9_-]+)>/.exec(
        p.headers?.["List-Unsubscribe"] ?? "",
      )?.[1];
      expect(oneClick).toBeDefined();
      // What the recipient's copy says once SendGrid substitutes: their own link, in every part.
      const rendered = (text: string) =>
        Object.entries(p.substitutions ?? {}).reduce((t, [k, v]) => t.split(k).join(v), text);
      const html = rendered(content.find((c) => c.type === "text/html")?.value ?? "");
      const text = rendered(content.find((c) => c.type === "text/plain")?.value ?? "");
      expect(html).toContain(`<a href="${oneClick}">Unsubscribe</a>`);
      expect(html).toContain(`<a href="${oneClick}#preferences">Preferences</a>`);
      expect(text).toContain(`Unsubscribe: ${oneClick}`);
    }

    // Kept with the message, for a queue that delivers after the request.
    const [stored] = await gw.deps.db.select().from(messages).where(eq(messages.id, messageId));
    expect(stored?.request).toMatchObject({ batchId: "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi" });
  });
});

describe("sandbox mode", () => {
  it("decides and proves every recipient, delivers nothing, and answers 200 with an empty body", async () => {
    const [response] = await sgMail.send({
      to: ["jana@dropin.example", "stranger@dropin.example"],
      from: "news@optika.example",
      subject: "Sandbox",
      text: "Only a test.",
      customArgs: { topic: "tips" },
      mailSettings: { sandboxMode: { enable: true } },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe("");
    expect(sendgrid.attempts).toHaveLength(0);
    const messageId = String(response.headers["x-message-id"]);
    const [message] = await gw.deps.db.select().from(messages).where(eq(messages.id, messageId));
    expect(message?.status).toBe("sandbox");
    const proofs = await gw.deps.db
      .select({
        email: justifications.email,
        decision: justifications.decision,
        status: justifications.status,
      })
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    expect(proofs.sort((a, b) => String(a.email).localeCompare(String(b.email)))).toEqual([
      { email: "jana@dropin.example", decision: "send", status: "sandbox" },
      { email: "stranger@dropin.example", decision: "suppress", status: "suppressed" },
    ]);
  });
});

describe("fields Grounds refuses, in SendGrid's error shape", () => {
  const base = {
    to: "jana@dropin.example",
    from: "news@optika.example",
    subject: "Refused",
    text: "?",
    customArgs: { topic: "tips" },
  };
  it.each([
    ["bypass_list_management", "mail_settings.bypass_list_management"],
    ["bypass_spam_management", "mail_settings.bypass_spam_management"],
    ["bypass_bounce_management", "mail_settings.bypass_bounce_management"],
    ["bypass_unsubscribe_management", "mail_settings.bypass_unsubscribe_management"],
  ])("%s enabled is refused with 400, nothing sent", async (setting, field) => {
    const error = await failureOf(
      sgMail.send({ ...base, mailSettings: { [setting]: { enable: true } } }),
    );
    expect(error?.code).toBe(400);
    expect(error?.response.body.errors.map((e) => e.field)).toEqual([field]);
    expect(sendgrid.attempts).toHaveLength(0);
  });

  it("a header Grounds sets, an attachment that is not base64, send_at beyond 72 hours", async () => {
    const error = await failureOf(
      sgMail.send({
        ...base,
        headers: { "List-Unsubscribe": "<https://elsewhere.example/u>" },
        attachments: [{ content: "not base64!", filename: "x.pdf" }],
        sendAt: Math.floor(gw.clock() / 1000) + 73 * 3600,
      }),
    );
    expect(error?.code).toBe(400);
    expect(error?.response.body.errors.map((e) => e.field).sort()).toEqual([
      "attachments.0.content",
      "headers.List-Unsubscribe",
      "send_at",
    ]);
    // Never the values: no address, no header value in the answer.
    expect(JSON.stringify(error?.response.body)).not.toContain("elsewhere.example");
  });
});
