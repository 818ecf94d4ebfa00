import { and, asc, eq } from "drizzle-orm";
import { expect } from "vitest";
import { evidence, justifications, outbox } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { signUnsubscribeToken } from "../../src/domain/unsubscribe-token.js";
import { subjectKeyOf } from "../../src/services/deps.js";
import { consentData, seedEvidence } from "../messages/seed.js";
import type { TestGateway } from "../support/gateway.js";

/** Helpers of the recipient tests: real links from real mail, evidence and decisions. */

export const DAY = 86_400_000;

export const MESSAGE = {
  topic: "tips",
  from: { email: "news@optika.example", name: "Optika" },
  subject: "Caring for your glasses",
  html: "<html><body><h1>Tips</h1><p>Clean them with a soft cloth.</p></body></html>",
};

/** Records a consent (web form) for `email` to `topics`, a day ago. */
export async function consentTo(
  gw: TestGateway,
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
  gw: TestGateway,
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
  expect(res.status, JSON.stringify(body)).toBe(200);
  expect(body.counts.send).toBe(1);
  const [mail] = await gw.deps.db
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

/** A genuine token signed directly (for links of mail not sent in the test). */
export function signedToken(
  gw: TestGateway,
  tenantId: string,
  email: string,
  topic = "tips",
  messageId = "msg_0123456789abcdef",
): string {
  return signUnsubscribeToken(gw.deps.tokenKey, {
    tenantId,
    subjectKey: subjectKeyOf(gw.deps, tenantId, normaliseAddress(email)),
    topic,
    messageId,
    issuedAt: gw.clock(),
  });
}

export async function evidenceOf(gw: TestGateway, tenantId: string, email: string) {
  const subjectKey = subjectKeyOf(gw.deps, tenantId, normaliseAddress(email));
  return gw.deps.db
    .select()
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenantId), eq(evidence.subjectKey, subjectKey)))
    .orderBy(asc(evidence.recordedAt), asc(evidence.id));
}

export async function evidenceCount(gw: TestGateway): Promise<number> {
  return (await gw.deps.db.select({ id: evidence.id }).from(evidence)).length;
}

export async function decisionOf(gw: TestGateway, key: string, email: string, topic: string) {
  const res = await gw.request(
    `/v1/subjects/${encodeURIComponent(email)}/decision?topic=${encodeURIComponent(topic)}`,
    { key },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as { decision: string; basis: string | null; reasons: string[] };
}

/** The one-click POST as a mailbox provider sends it: urlencoded, no cookie, no redirect followed. */
export function oneClick(
  gw: TestGateway,
  token: string,
  init: { multipart?: boolean; headers?: Record<string, string>; env?: unknown } = {},
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
  return fetchApp(
    gw,
    `/u/${token}`,
    { method: "POST", headers, body, redirect: "manual" },
    init.env,
  );
}

/** A request to the app with the Node bindings of a client at `ip` (the socket's peer). */
export function fromIp(ip: string) {
  return { incoming: { socket: { remoteAddress: ip, remotePort: 40000, remoteFamily: "IPv4" } } };
}

export function fetchApp(
  gw: TestGateway,
  path: string,
  init: RequestInit = {},
  env?: unknown,
): Promise<Response> {
  return Promise.resolve(gw.app.fetch(new Request(`http://grounds.test${path}`, init), env));
}

/** A page form POST, as a browser sends it. */
export function postForm(
  gw: TestGateway,
  path: string,
  fields: [string, string][],
  init: { headers?: Record<string, string>; env?: unknown } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/x-www-form-urlencoded");
  return fetchApp(
    gw,
    path,
    { method: "POST", headers, body: new URLSearchParams(fields).toString(), redirect: "manual" },
    init.env,
  );
}
