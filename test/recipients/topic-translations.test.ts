import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveriesDone } from "../support/deliveries.js";
import { OPERATOR_TOKEN, startTestGateway, TENANT, type TestGateway } from "../support/gateway.js";
import { outboxOfMessage } from "../support/outbox.js";
import { consentTo, mailedToken } from "./helpers.js";

/**
 * Topic names and descriptions per locale (`translations`): the topic API
 * takes and lists them, and the recipient's page and the mail's footer use
 * them in the recipient's language, falling back to the default name and
 * description where a topic has none.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;

beforeAll(async () => {
  gw = await startTestGateway();
  const created = await gw.request("/v1/tenants", {
    method: "POST",
    key: OPERATOR_TOKEN,
    json: TENANT,
  });
  const body = (await created.json()) as { tenant: { id: string }; adminKey: { key: string } };
  tenantId = body.tenant.id;
  key = body.adminKey.key;
  for (const topic of [
    {
      id: "tips",
      name: "Tips",
      description: "A monthly letter about your glasses.",
      class: "marketing",
      categories: ["accessories"],
      translations: {
        cs: { name: "Tipy pro vaše brýle", description: "Měsíční dopis o vašich brýlích." },
      },
    },
    { id: "deals-lenses", name: "Lens deals", class: "marketing", categories: ["lenses"] },
  ]) {
    const res = await gw.request("/v1/topics", { method: "POST", key, json: topic });
    expect(res.status, await res.clone().text()).toBe(201);
  }
});

afterAll(async () => {
  await gw?.stop();
});

describe("topic translations", () => {
  it("are taken and listed by the topic API; an unknown locale is refused", async () => {
    const res = await gw.request("/v1/topics", { key });
    const { topics } = (await res.json()) as {
      topics: { id: string; name: string; translations: Record<string, unknown> }[];
    };
    expect(topics.find((t) => t.id === "tips")).toMatchObject({
      name: "Tips",
      translations: { cs: { name: "Tipy pro vaše brýle" } },
    });
    expect(topics.find((t) => t.id === "deals-lenses")?.translations).toEqual({});
    const refused = await gw.request("/v1/topics", {
      method: "POST",
      key,
      json: { id: "x", name: "X", class: "marketing", translations: { de: { name: "X" } } },
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe(
      "/translations/de",
    );
  });

  it("name the topic in the page and the footer in the recipient's language, else the default", async () => {
    const email = "jana@example.cz";
    await consentTo(gw, tenantId, email, ["tips", "deals-lenses"]);
    gw.clock.advance(1000);
    const link = await mailedToken(gw, key, email);
    const czech = await (await gw.request(`/u/${link.token}?lang=cs`)).text();
    expect(czech).toContain("Tipy pro vaše brýle");
    expect(czech).toContain("Měsíční dopis o vašich brýlích.");
    // No Czech name for lens deals: its default name.
    expect(czech).toContain("Lens deals");
    const english = await (await gw.request(`/u/${link.token}?lang=en`)).text();
    expect(english).toContain("A monthly letter about your glasses.");
    expect(english).not.toContain("Tipy pro vaše brýle");

    // The mail's footer follows the message's locale.
    const sent = await gw.request("/v1/messages", {
      method: "POST",
      key,
      json: {
        topic: "tips",
        locale: "cs",
        from: { email: "news@optika.example", name: "Optika" },
        subject: "Péče o brýle",
        html: "<p>Čistěte je měkkým hadříkem.</p>",
        recipients: [{ email }],
      },
    });
    // 202 while the queue delivers (docs/design.md §7): wait for the outbox copy.
    expect(sent.status).toBe(202);
    await deliveriesDone(gw);
    const { messageId } = (await sent.json()) as { messageId: string };
    const [mail] = await outboxOfMessage(gw.deps.db, messageId);
    expect(mail?.text).toContain("Tipy pro vaše brýle");
    expect(mail?.text).not.toMatch(/\bTips\b/);
  });
});
