import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidence, outbox } from "../../src/db/schema.js";
import { decisionOf } from "../http/helpers.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics, TENANT } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import {
  forwardedMessage,
  multipartMessage,
  plainMessage,
  questionMessage,
  quotedPrintableMessage,
} from "../support/mailto-messages.js";
import { RUNTIMES, servicesBeside } from "../support/runtimes.js";
import { consentTo, MESSAGE, mailedToken, type Services } from "./helpers.js";

/**
 * Mailed unsubscribes through SendGrid's Inbound Parse (docs/design.md §5
 * `/inbound/sendgrid/{tenant}`): the mailto of `List-Unsubscribe`, answered
 * by a real mail, records the unsubscribe as one-click does (channel
 * `email`), and the next send leaves the person out; mail without a genuine
 * token is kept for the staff and changes nothing.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let services: Services & { close(): void };
  let key: string;
  let tenantId: string;
  let inboundUrl: string;

  beforeAll(async () => {
    gw = await runtime.start();
    services = await servicesBeside(gw);
    ({ key, tenantId } = await createTenantWithTopics(gw));
    const settings = await gw.request("/v1/settings", { key });
    const body = (await settings.json()) as { sendgrid: { inboundParseUrl: string } };
    const url = new URL(body.sendgrid.inboundParseUrl);
    inboundUrl = `${url.pathname}${url.search}`;
  });

  afterAll(async () => {
    services?.close();
    await gw?.stop();
  });

  /** What SendGrid's Inbound Parse posts with "send raw" on: the message in `email`. */
  function postRaw(raw: string, path = inboundUrl) {
    const form = new FormData();
    form.set("to", TENANT.contactEmail);
    form.set("email", raw);
    return gw.request(path, { method: "POST", body: form });
  }

  let n = 0;
  async function mailedReader() {
    n += 1;
    const email = `reader.${n}@mailto.example`;
    await consentTo(services, tenantId, email, ["tips", "deals-lenses"]);
    const { token, headers } = await mailedToken(gw, key, email);
    // The mailto as the header gives it: the token in its subject.
    const mailto = /<mailto:([^?>]+)\?subject=([^>]+)>/.exec(headers["List-Unsubscribe"] ?? "");
    expect(mailto?.[1]).toBe(TENANT.contactEmail);
    expect(decodeURIComponent(mailto?.[2] ?? "")).toBe(`unsubscribe ${token}`);
    return { email, token };
  }

  async function nextSendTo(email: string) {
    const res = await gw.request("/v1/messages", {
      method: "POST",
      key,
      json: { ...MESSAGE, recipients: [{ email }] },
    });
    return ((await res.json()) as { results: { decision: string; reasons: string[] }[] })
      .results[0];
  }

  it.each([
    ["plain", plainMessage],
    ["quoted-printable", quotedPrintableMessage],
    ["multipart with a base64 subject", multipartMessage],
    ["forwarded", forwardedMessage],
  ])("a %s mail to the mailto stops the next send of its topic", async (_, build) => {
    const { email, token } = await mailedReader();
    const res = await postRaw(build(email, TENANT.contactEmail, token));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ recorded: true });
    expect(await nextSendTo(email)).toMatchObject({ decision: "suppress", reasons: ["objected"] });
    // Only the token's topic: another stays as it was.
    expect((await decisionOf(gw, key, email, "deals-lenses")).decision).toBe("send");
    const rows = await databaseOf(gw)
      .select({ data: evidence.data, topic: evidence.topic })
      .from(evidence)
      .where(eq(evidence.kind, "objection"));
    expect(rows.some((r) => r.topic === "tips" && r.data.channel === "email")).toBe(true);
  });

  it("takes SendGrid's parsed fields when raw is off", async () => {
    const { email, token } = await mailedReader();
    const form = new FormData();
    form.set("subject", `unsubscribe ${token}`);
    form.set("text", "stop");
    form.set("from", `Reader <${email}>`);
    const res = await gw.request(inboundUrl, { method: "POST", body: form });
    expect(await res.json()).toEqual({ recorded: true });
    expect((await decisionOf(gw, key, email, "tips")).reasons).toEqual(["objected"]);
  });

  it("keeps mail without a genuine token for the staff, as no evidence", async () => {
    const { email, token } = await mailedReader();
    const damaged = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`;
    for (const raw of [
      questionMessage(email, TENANT.contactEmail),
      plainMessage(email, TENANT.contactEmail, damaged),
    ]) {
      const res = await postRaw(raw);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ recorded: false });
    }
    expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
    const kept = await databaseOf(gw)
      .select({ subject: outbox.subject, headers: outbox.headers, to: outbox.to })
      .from(outbox)
      .where(eq(outbox.tenantId, tenantId));
    const inbound = kept.filter((row) => row.headers["X-Grounds-Inbound"]);
    expect(inbound.map((row) => row.subject)).toContain("Where is my order?");
    expect(inbound.every((row) => row.to === TENANT.contactEmail)).toBe(true);
  });

  it("refuses a URL without the tenant's key, and another tenant's token", async () => {
    const { email, token } = await mailedReader();
    const wrongKey = inboundUrl.replace(/key=[^&]+/, "key=AAAA");
    expect((await postRaw(plainMessage(email, TENANT.contactEmail, token), wrongKey)).status).toBe(
      404,
    );
    const other = await createTenantWithTopics(gw, { name: "Other brand" });
    const settings = await gw.request("/v1/settings", { key: other.key });
    const url = new URL(
      ((await settings.json()) as { sendgrid: { inboundParseUrl: string } }).sendgrid
        .inboundParseUrl,
    );
    // This tenant's token posted to the other tenant's address: not theirs to record.
    const res = await postRaw(
      plainMessage(email, TENANT.contactEmail, token),
      `${url.pathname}${url.search}`,
    );
    expect(await res.json()).toEqual({ recorded: false });
    expect((await decisionOf(gw, key, email, "tips")).decision).toBe("send");
  });
});
