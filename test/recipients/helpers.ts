import { and, asc, eq } from "drizzle-orm";
import { expect } from "vitest";
import { evidence, justifications, outbox } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { signUnsubscribeToken } from "../../src/domain/unsubscribe-token.js";
import type { Deps } from "../../src/services/deps.js";
import { consentData, seedEvidence } from "../messages/seed.js";
import { databaseOf } from "../support/database.js";
import { deliveriesDone } from "../support/deliveries.js";
import type { GatewayRequestInit, GatewayUnderTest } from "../support/gateway-under-test.js";
import { subjectKeyOf } from "../support/runtimes.js";

/**
 * Helpers of the recipient tests, for a gateway in either runtime: real links from real mail,
 * evidence and decisions. What is seeded straight into the database (evidence, a token signed
 * directly) is written with the gateway's services: the Node harness's own, or those opened
 * beside the gateway on its file (`servicesBeside`).
 */

/** The gateway's services and clock, for what a test seeds without the API. */
export type Services = { deps: Deps; clock(): number };

export const DAY = 86_400_000;

export const MESSAGE = {
  topic: "tips",
  from: { email: "news@optika.example", name: "Optika" },
  subject: "Caring for your glasses",
  html: "<html><body><h1>Tips</h1><p>Clean them with a soft cloth.</p></body></html>",
};

/** Records a consent (web form) for `email` to `topics`, a day ago. */
export async function consentTo(
  gw: Services,
  tenantId: string,
  email: string,
  topics: readonly string[],
): Promise<void> {
  await seedEvidence(
    gw,
    tenantId,
    topics.map((topic) => ({
      email,
      kind: "consent-granted" as const,
      topic,
      at: gw.clock() - DAY,
      data: consentData,
    })),
  );
}

/**
 * Sends a `topic` message to `email` through `POST /v1/messages` and returns
 * the token of the `List-Unsubscribe` header of the mail in the outbox: the
 * link exactly as the recipient got it.
 */
export async function mailedToken(
  gw: GatewayUnderTest,
  key: string,
  email: string,
  topic = "tips",
): Promise<{ token: string; url: string; messageId: string; headers: Record<string, string> }> {
  const res = await gw.request("/v1/messages", {
    method: "POST",
    key,
    json: { ...MESSAGE, topic, recipients: [{ email }] },
  });
  const body = (await res.json()) as { messageId: string; counts: { send: number } };
  expect(res.status, JSON.stringify(body)).toBe(202);
  expect(body.counts.send).toBe(1);
  await deliveriesDone(gw);
  const [mail] = await databaseOf(gw)
    .select({ headers: outbox.headers })
    .from(outbox)
    .innerJoin(justifications, eq(justifications.id, outbox.justificationId))
    .where(eq(justifications.messageId, body.messageId));
  const header = mail?.headers["List-Unsubscribe"] ?? "";
  const match = /<(https?:\/\/[^>]+\/u\/([A-Za-z0-9_-]+))>/.exec(header);
  if (!match?.[1] || !match[2]) throw new Error(`no unsubscribe link in ${header}`);
  return {
    url: match[1],
    token: match[2],
    messageId: body.messageId,
    headers: mail?.headers ?? {},
  };
}

/**
 * A genuine token signed directly with the installation's key (for links of mail not sent in
 * the test), issued now on the gateway's clock unless said.
 */
export function signedToken(
  gw: Services,
  tenantId: string,
  email: string,
  topic = "tips",
  messageId = "msg_0123456789abcdef",
  issuedAt = gw.clock(),
): string {
  return signUnsubscribeToken(gw.deps.tokenKey, {
    tenantId,
    subjectKey: subjectKeyOf(tenantId, normaliseAddress(email)),
    topic,
    messageId,
    issuedAt,
  });
}

export async function evidenceOf(
  gw: Pick<GatewayUnderTest, "dbPath">,
  tenantId: string,
  email: string,
) {
  const subjectKey = subjectKeyOf(tenantId, normaliseAddress(email));
  return databaseOf(gw)
    .select()
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenantId), eq(evidence.subjectKey, subjectKey)))
    .orderBy(asc(evidence.recordedAt), asc(evidence.id));
}

export async function evidenceCount(gw: Pick<GatewayUnderTest, "dbPath">): Promise<number> {
  return (await databaseOf(gw).select({ id: evidence.id }).from(evidence)).length;
}

export async function decisionOf(gw: GatewayUnderTest, key: string, email: string, topic: string) {
  const res = await gw.request(
    `/v1/subjects/${encodeURIComponent(email)}/decision?topic=${encodeURIComponent(topic)}`,
    { key },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as { decision: string; basis: string | null; reasons: string[] };
}

/** The one-click POST as a mailbox provider sends it: urlencoded, no cookie, no redirect followed. */
export function oneClick(
  gw: GatewayUnderTest,
  token: string,
  init: { multipart?: boolean; headers?: Record<string, string>; clientIp?: string } = {},
): Promise<Response> {
  let body: BodyInit;
  const headers = new Headers(init.headers);
  if (init.multipart) {
    const form = new FormData();
    form.set("List-Unsubscribe", "One-Click");
    body = form;
  } else {
    headers.set("content-type", "application/x-www-form-urlencoded");
    body = "List-Unsubscribe=One-Click";
  }
  return fetchApp(gw, `/u/${token}`, {
    method: "POST",
    headers,
    body,
    redirect: "manual",
    ...(init.clientIp ? { clientIp: init.clientIp } : {}),
  });
}

/** A request to the gateway, as a recipient's browser or mailbox provider sends it. */
export function fetchApp(
  gw: GatewayUnderTest,
  path: string,
  init: GatewayRequestInit = {},
): Promise<Response> {
  return gw.request(path, init);
}

/** A page form POST, as a browser sends it. */
export function postForm(
  gw: GatewayUnderTest,
  path: string,
  fields: [string, string][],
  init: { headers?: Record<string, string>; clientIp?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/x-www-form-urlencoded");
  return fetchApp(gw, path, {
    method: "POST",
    headers,
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
    ...(init.clientIp ? { clientIp: init.clientIp } : {}),
  });
}
