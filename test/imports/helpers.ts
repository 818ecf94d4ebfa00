import { readFileSync } from "node:fs";
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { evidence } from "../../src/db/schema.js";
import { normaliseAddress } from "../../src/domain/address.js";
import { subjectKeyOf } from "../../src/services/deps.js";
import type { TestGateway } from "../support/gateway.js";

/** The sample files, written for these tests (no real person's data). */
export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
}

export interface ImportBody {
  id: string;
  status: "receiving" | "queued" | "processing" | "done" | "failed";
  format: string;
  topics: string[];
  processed: number;
  imported: number;
  skipped: number;
  rejected: { line: number; reason: string }[];
  rejectedCount: number;
  progress: number;
  bytes: number;
  error: string | null;
  finishedAt: string | null;
}

/** Posts a file; answers the 202 body (or fails the test). */
export async function postImport(
  gateway: TestGateway,
  key: string,
  query: string,
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<{ id: string; status: string }> {
  const res = await gateway.request(`/v1/imports?${query}`, {
    method: "POST",
    key,
    body,
    headers: { "content-type": "text/csv", ...headers },
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit & { key: string });
  if (res.status !== 202) throw new Error(`import: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; status: string };
}

export async function getImport(gateway: TestGateway, key: string, id: string, query = "") {
  const res = await gateway.request(`/v1/imports/${id}${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as ImportBody;
}

/** Waits for the job to finish (as a client polls), then answers it. */
export async function finished(gateway: TestGateway, key: string, id: string): Promise<ImportBody> {
  for (let i = 0; i < 600; i++) {
    await gateway.idle();
    const job = await getImport(gateway, key, id);
    if (job.status === "done" || job.status === "failed") return job;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("the import did not finish");
}

/** Posts a file and waits for it to be imported. */
export async function importFile(
  gateway: TestGateway,
  key: string,
  query: string,
  body: BodyInit,
): Promise<ImportBody> {
  const { id } = await postImport(gateway, key, query, body);
  return finished(gateway, key, id);
}

/** The stored evidence rows of an address. */
export async function evidenceOf(gateway: TestGateway, tenantId: string, email: string) {
  const subjectKey = subjectKeyOf(gateway.deps, tenantId, normaliseAddress(email));
  return gateway.deps.db
    .select()
    .from(evidence)
    .where(and(eq(evidence.tenantId, tenantId), eq(evidence.subjectKey, subjectKey)));
}

export async function countEvidence(gateway: TestGateway): Promise<number> {
  return (await gateway.deps.db.select({ id: evidence.id }).from(evidence)).length;
}

export interface Decision {
  decision: "send" | "suppress";
  basis: string | null;
  reasons: string[];
  evidence: { id: string; kind: string; at: string }[];
}

export async function decisionFor(
  gateway: TestGateway,
  key: string,
  email: string,
  topic: string,
): Promise<Decision> {
  const res = await gateway.request(
    `/v1/subjects/${encodeURIComponent(email)}/decision?topic=${topic}`,
    { key },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Decision;
}
