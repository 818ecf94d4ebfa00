import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Client } from "@sendgrid/client";
import { MailService } from "@sendgrid/mail";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { justifications } from "../../src/db/schema.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { outboxOfMessage } from "../support/outbox.js";
import { consentData, seedEvidence } from "./seed.js";

/**
 * `POST /v3/mail/send` with the real `@sendgrid/mail` client: a tool that
 * already uses it sends through Grounds by changing the base URL and the key.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
let server: ReturnType<typeof serve>;
let baseUrl: string;
const sgMail = new MailService();

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
  server = serve({ fetch: gw.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // As a tool would configure it: the key, then the base URL (setApiKey()
  // resets the base URL), on the client the mail service sends with. The
  // key in its `SG.` form, so the client has nothing to warn about.
  const client = new Client();
  client.setApiKey(`SG.${key}`);
  client.setDefaultRequest("baseUrl", baseUrl);
  sgMail.setClient(client);
  const now = gw.clock();
  await seedEvidence(gw, tenantId, [
    {
      email: "yes@sg.example",
      kind: "consent-granted",
      topic: "tips",
      at: now - 86_400_000,
      data: consentData,
    },
    {
      email: "cc-yes@sg.example",
      kind: "consent-granted",
      topic: "tips",
      at: now - 86_400_000,
      data: consentData,
    },
    {
      email: "objected@sg.example",
      kind: "consent-granted",
      topic: "tips",
      at: now - 3 * 86_400_000,
      data: consentData,
    },
    {
      email: "objected@sg.example",
      kind: "objection",
      topic: "*",
      at: now - 86_400_000,
      data: { channel: "email" },
    },
  ]);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await gw.stop();
});

const deliveredTo = (messageId: string) => outboxOfMessage(gw.deps.db, messageId);

describe("the real @sendgrid/mail client through Grounds", () => {
  it("takes a Grounds key in its SG. form without the client's warning, and no SendGrid key", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const client = new Client();
      client.setApiKey(`SG.${key}`);
      expect(warn).not.toHaveBeenCalled();
      client.setApiKey(key);
      expect(warn).toHaveBeenCalled(); // what the SG. form spares the user
    } finally {
      warn.mockRestore();
    }
    const asSent = (bearer: string) =>
      gw.app.request("/v1/topics", { headers: { Authorization: `Bearer ${bearer}` } });
    const plain = (await asSent(key)).status;
    expect(plain).not.toBe(401);
    expect((await asSent(`SG.${key}`)).status).toBe(plain);
    // A SendGrid-shaped key, or the prefix on something else, is no Grounds key.
    expect((await asSent(`SG.${key.slice(4)}`)).status).toBe(401);
    expect((await asSent("SG.aBcDeFgHiJkLmNoP.qRsTuVwXyZ0123456789")).status).toBe(401);
  });

  it("removes suppressed recipients and answers as SendGrid does", async () => {
    const [response] = await sgMail.send({
      to: ["yes@sg.example", "objected@sg.example", "stranger@sg.example"],
      cc: "cc-yes@sg.example",
      from: { email: "news@optika.example", name: "Optika" },
      subject: "Hello -name-",
      html: "<p>Hi -name-, here are some tips.</p>",
      customArgs: { topic: "tips", campaign: "autumn" },
      substitutions: { "-name-": "friend" },
      substitutionWrappers: ["", ""],
    });
    expect(response.statusCode).toBe(202);
    const messageId = String(response.headers["x-message-id"]);
    expect(messageId).toMatch(/^msg_/);
    const delivered = await deliveredTo(messageId);
    expect(delivered.map((d) => d.to).sort()).toEqual(["cc-yes@sg.example", "yes@sg.example"]);
    for (const mail of delivered) {
      expect(mail.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
      // The caller's substitutions are applied; the footer is there.
      expect(mail.html).toContain("Hi friend");
      expect(mail.html).toContain("Optika Praha s.r.o.");
    }
    const proofs = await gw.deps.db
      .select({ email: justifications.email, reasons: justifications.reasons })
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    expect(proofs).toHaveLength(4);
    expect(proofs.find((p) => p.email === "objected@sg.example")?.reasons).toEqual(["objected"]);
    expect(proofs.find((p) => p.email === "stranger@sg.example")?.reasons).toEqual(["no-basis"]);
  });

  it("keeps attachments, headers and the batch id in the local outbox, as SendGrid would have had them", async () => {
    const content = Buffer.from("invoice 2026-117").toString("base64");
    const [response] = await sgMail.send({
      to: "yes@sg.example",
      from: "news@optika.example",
      subject: "Your invoice",
      text: "Attached. Unsubscribe: <%asm_global_unsubscribe_raw_url%>",
      customArgs: { topic: "tips" },
      attachments: [{ content, filename: "invoice.txt", type: "text/plain" }],
      headers: { "X-Invoice": "2026-117" },
      batchId: "batch_2026-117",
    });
    expect(response.statusCode).toBe(202);
    const [copy] = await deliveredTo(String(response.headers["x-message-id"]));
    expect(copy?.fields).toMatchObject({
      attachments: [{ content, filename: "invoice.txt", type: "text/plain" }],
      batch_id: "batch_2026-117",
    });
    expect(copy?.headers["X-Invoice"]).toBe("2026-117");
    const oneClick = /<([^>]+\/u\/[^>]+)>/.exec(copy?.headers["List-Unsubscribe"] ?? "")?.[1];
    expect(copy?.text).toContain(`Unsubscribe: ${oneClick}`);
  });

  it("takes the topic from the tenant's category mapping", async () => {
    const settings = await gw.request("/v1/settings", {
      method: "PATCH",
      key,
      json: { sendgrid: { categories: { newsletter: "tips" } } },
    });
    expect(settings.status).toBe(200);
    const [response] = await sgMail.send({
      to: "yes@sg.example",
      from: "news@optika.example",
      subject: "Mapped",
      text: "Tips by category.",
      categories: ["newsletter"],
    });
    expect(response.statusCode).toBe(202);
    expect(await deliveredTo(String(response.headers["x-message-id"]))).toHaveLength(1);
  });

  it("refuses, in SendGrid's error shape, what Grounds cannot make compliant", async () => {
    const error = await sgMail
      .send({ to: "yes@sg.example", from: "news@optika.example", subject: "No topic", text: "?" })
      .then(() => null)
      .catch(
        (e: {
          code: number;
          response: { body: { errors: { message: string; field: string | null }[] } };
        }) => e,
      );
    expect(error?.code).toBe(400);
    expect(error?.response.body.errors[0]?.field).toBe("custom_args.topic");

    const spoofed = await sgMail
      .send({
        to: "yes@sg.example",
        from: "news@elsewhere.example",
        subject: "Spoof",
        text: "?",
        customArgs: { topic: "tips" },
      })
      .then(() => null)
      .catch((e: { code: number; response: { body: { errors: { help: string }[] } } }) => e);
    expect(spoofed?.code).toBe(422);
    expect(spoofed?.response.body.errors[0]?.help).toBe("/problems/unverified-sender-domain");
  });

  it("refuses a wrong key", async () => {
    const res = await fetch(`${baseUrl}/v3/mail/send`, {
      method: "POST",
      headers: { authorization: "Bearer SG.nope", "content-type": "application/json" },
      body: JSON.stringify({
        personalizations: [{ to: [{ email: "yes@sg.example" }] }],
        from: { email: "news@optika.example" },
        subject: "x",
        content: [{ type: "text/plain", value: "x" }],
      }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });
});
