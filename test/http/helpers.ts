import { expect } from "vitest";
import { evidence, subjects } from "../../src/db/schema.js";
import { databaseOf } from "../support/database.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";

/**
 * Shared helpers of the HTTP tests, for a gateway in either runtime: times relative to the
 * gateway's clock, writes, decisions, and rows read from its database file.
 */

export const WORDING = {
  version: "tips-2026-01",
  text: "Yes, send me tips about caring for my glasses. I can unsubscribe at any time.",
};

/** An instant relative to the gateway's clock, as an RFC 3339 string. */
export function ago(
  gateway: GatewayUnderTest,
  by: { months?: number; days?: number; minutes?: number } = {},
): string {
  const date = new Date(gateway.clock());
  if (by.months) date.setUTCMonth(date.getUTCMonth() - by.months);
  if (by.days) date.setUTCDate(date.getUTCDate() - by.days);
  if (by.minutes) date.setUTCMinutes(date.getUTCMinutes() - by.minutes);
  return date.toISOString();
}

/** An instant after the gateway's clock. */
export function ahead(gateway: GatewayUnderTest, by: { days?: number; minutes?: number }): string {
  return new Date(
    gateway.clock() + (by.days ?? 0) * 86_400_000 + (by.minutes ?? 0) * 60_000,
  ).toISOString();
}

export interface RecordedEvidence {
  id: string;
  kind: string;
  topic: string | null;
  at: string;
}

export interface DecisionBody {
  decision: "send" | "suppress";
  basis: string | null;
  reasons: string[];
  ruleSet: string;
  topic: string;
  decidedAt: string;
  evidence: { id: string; kind: string; at: string }[];
  trace: { rule: string; outcome: string; detail: string; ruleSet: string }[];
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { pointer: string; detail: string }[];
}

/** A write that must succeed; answers the evidence it recorded. */
export async function write(
  gateway: GatewayUnderTest,
  key: string,
  path: string,
  json: unknown,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<RecordedEvidence[]> {
  const res = await gateway.request(path, {
    method: init.method ?? "POST",
    key,
    json,
    ...(init.headers ? { headers: init.headers } : {}),
  });
  const text = await res.text();
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`${init.method ?? "POST"} ${path}: ${res.status} ${text}`);
  }
  return (JSON.parse(text) as { evidence: RecordedEvidence[] }).evidence;
}

/** A consent grant (web form, with wording) unless overridden. */
export function consentBody(
  email: string,
  topics: string[],
  collectedAt: string,
  extra: Record<string, unknown> = {},
) {
  return {
    email,
    topics,
    action: "grant",
    collectedAt,
    source: { method: "web-form", url: "https://optika.example/newsletter" },
    wording: WORDING,
    ...extra,
  };
}

export function grant(
  gateway: GatewayUnderTest,
  key: string,
  email: string,
  topics: string[],
  collectedAt: string,
  extra: Record<string, unknown> = {},
) {
  return write(gateway, key, "/v1/consents", consentBody(email, topics, collectedAt, extra));
}

export async function putSubject(
  gateway: GatewayUnderTest,
  key: string,
  email: string,
  facts: Record<string, unknown>,
) {
  const res = await gateway.request(`/v1/subjects/${encodeURIComponent(email)}`, {
    method: "PUT",
    key,
    json: facts,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`PUT subject: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function erase(gateway: GatewayUnderTest, key: string, email: string) {
  const res = await gateway.request(`/v1/subjects/${encodeURIComponent(email)}`, {
    method: "DELETE",
    key,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`DELETE subject: ${res.status} ${text}`);
  return (JSON.parse(text) as { evidence: RecordedEvidence[] }).evidence;
}

export async function decisionOf(
  gateway: GatewayUnderTest,
  key: string,
  email: string,
  topic: string,
): Promise<DecisionBody> {
  const res = await gateway.request(
    `/v1/subjects/${encodeURIComponent(email)}/decision?topic=${encodeURIComponent(topic)}`,
    { key },
  );
  const text = await res.text();
  if (res.status !== 200) throw new Error(`decision: ${res.status} ${text}`);
  return JSON.parse(text) as DecisionBody;
}

/** Asserts a problem answer (RFC 9457) and returns its body. */
export async function expectProblem(
  res: Response,
  status: number,
  type: string,
): Promise<ProblemBody & { raw: string }> {
  const raw = await res.text();
  expect(res.status, raw).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(raw) as ProblemBody;
  expect(body.type).toBe(`/problems/${type}`);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe("string");
  return { ...body, raw };
}

export async function evidenceRows(gateway: GatewayUnderTest) {
  return databaseOf(gateway).select().from(evidence);
}

export async function subjectRows(gateway: GatewayUnderTest) {
  return databaseOf(gateway).select().from(subjects);
}

/** Creates an extra key with the given scopes for a tenant, through the API. */
export async function createKey(
  gateway: GatewayUnderTest,
  adminKey: string,
  scopes: string[],
): Promise<string> {
  const res = await gateway.request("/v1/keys", {
    method: "POST",
    key: adminKey,
    json: { scopes },
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`key: ${res.status} ${text}`);
  return (JSON.parse(text) as { key: string }).key;
}
