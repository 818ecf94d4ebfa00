import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERASED_REASON } from "../../src/services/imports/process.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { decisionFor, finished, getImport, importFile, postImport } from "./helpers.js";

/** The import endpoints as a client meets them: auth, isolation, refusals, erasure. */
let gateway: TestGateway;
let key: string;

const HEADER = '"Email Address",OPTIN_TIME,OPTIN_IP,CONFIRM_TIME';

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ key } = await createTenantWithTopics(gateway));
});

afterAll(async () => {
  await gateway.stop();
});

async function problem(res: Response) {
  return { status: res.status, body: (await res.json()) as { type: string; errors?: unknown[] } };
}

describe("POST /v1/imports and GET /v1/imports/{id}", () => {
  it("answers 202 with the job's id and where to follow it", async () => {
    const res = await gateway.request("/v1/imports?format=mailchimp&topics=tips", {
      method: "POST",
      key,
      body: `${HEADER}\nhttp.one@example.cz,2025-09-09 09:09:09,,\n`,
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string };
    expect(body.id).toMatch(/^imp_/);
    expect(res.headers.get("location")).toBe(`/v1/imports/${body.id}`);
    const job = await finished(gateway, key, body.id);
    expect(job).toMatchObject({ status: "done", processed: 1, imported: 1, rejected: [] });
  });

  it("needs a key with evidence:write, and keeps jobs to their tenant", async () => {
    const { id } = await postImport(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      `${HEADER}\nhttp.two@example.cz,2025-09-09 09:09:09,,\n`,
    );
    await finished(gateway, key, id);
    const anonymous = await gateway.request(`/v1/imports/${id}`);
    expect(anonymous.status).toBe(401);

    const keyRes = await gateway.request("/v1/keys", {
      method: "POST",
      key,
      json: { scopes: ["send"] },
    });
    const sendOnly = ((await keyRes.json()) as { key: string }).key;
    expect((await gateway.request(`/v1/imports/${id}`, { key: sendOnly })).status).toBe(403);
    const post = await gateway.request("/v1/imports?format=csv", {
      method: "POST",
      key: sendOnly,
      body: "email\nx@example.cz\n",
    });
    expect(post.status).toBe(403);

    const other = await createTenantWithTopics(gateway, {
      name: "Jiná",
      legalName: "Jiná optika s.r.o.",
      registrationId: "CZ87654321",
    });
    const foreign = await gateway.request(`/v1/imports/${id}`, { key: other.key });
    expect(await problem(foreign)).toEqual({
      status: 404,
      body: expect.objectContaining({ type: "/problems/not-found" }),
    });
    // Its own import of the same address is its own evidence.
    const mine = await importFile(
      gateway,
      other.key,
      "format=mailchimp&topics=tips",
      `${HEADER}\nhttp.two@example.cz,2025-09-09 09:09:09,,\n`,
    );
    expect(mine).toMatchObject({ imported: 1, skipped: 0 });
  });

  it("refuses parameters before reading the file", async () => {
    const post = (query: string) =>
      gateway.request(`/v1/imports?${query}`, { method: "POST", key, body: "email\n" });
    expect(await problem(await post("topics=tips"))).toMatchObject({
      status: 400,
      body: { type: "/problems/invalid-request", errors: [{ pointer: "/query/format" }] },
    });
    expect(await problem(await post("format=xlsx"))).toMatchObject({ status: 400 });
    expect(await problem(await post("format=mailchimp"))).toMatchObject({
      status: 400,
      body: { errors: [{ pointer: "/query/topics" }] },
    });
    expect(await problem(await post("format=mailchimp&topics=unknown"))).toMatchObject({
      status: 422,
      body: { type: "/problems/unknown-topic" },
    });
    expect(await problem(await post("format=mailchimp&topics=invoices"))).toMatchObject({
      status: 422,
      body: { type: "/problems/not-a-marketing-topic" },
    });
    expect(await problem(await post("format=csv&map=nosuchfield:X"))).toMatchObject({
      status: 400,
      body: { errors: [{ pointer: "/query/map" }] },
    });
    const empty = await gateway.request("/v1/imports?format=csv", { method: "POST", key });
    expect(empty.status).toBe(400);
    const declaredTooLarge = await gateway.request("/v1/imports?format=csv", {
      method: "POST",
      key,
      headers: { "content-length": String(2 * 1024 ** 3) },
      body: "email\n",
    });
    expect(declaredTooLarge.status).toBe(413);
  });

  it("takes files far above the 1 MiB limit of other writes", async () => {
    const rows = Array.from(
      { length: 15_000 },
      (_, i) => `big.${i}@example.cz,2025-09-09 09:09:09,198.51.100.${i % 250},2025-09-09 09:10:00`,
    );
    const file = `${HEADER}\n${rows.join("\n")}\n`;
    expect(file.length).toBeGreaterThan(1024 * 1024);
    const job = await importFile(gateway, key, "format=mailchimp&topics=tips", file);
    expect(job).toMatchObject({ status: "done", processed: 15_000, imported: 15_000 });
  });

  it("answers a retry with the same Idempotency-Key with the same job", async () => {
    const file = `${HEADER}\nidem@example.cz,2025-09-09 09:09:09,,\n`;
    const first = await postImport(gateway, key, "format=mailchimp&topics=tips", file, {
      "idempotency-key": "upload-1",
    });
    const retry = await gateway.request("/v1/imports?format=mailchimp&topics=tips", {
      method: "POST",
      key,
      body: file,
      headers: { "idempotency-key": "upload-1" },
    });
    expect(retry.status).toBe(202);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(((await retry.json()) as { id: string }).id).toBe(first.id);
  });

  it("lists refused rows a page at a time", async () => {
    const rows = Array.from({ length: 1_205 }, (_, i) => `bad-${i},2025-09-09 09:09:09,,`);
    const job = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      `${HEADER}\n${rows.join("\n")}`,
    );
    expect(job.rejectedCount).toBe(1_205);
    expect(job.rejected).toHaveLength(1_000);
    expect(job.rejected.at(-1)?.line).toBe(1_001);
    const next = await getImport(gateway, key, job.id, "?rejectedAfter=1001");
    expect(next.rejected).toHaveLength(205);
    expect(next.rejected[0]).toEqual({
      line: 1_002,
      reason: "Email Address: not a valid e-mail address",
    });
  });

  it("is documented in the OpenAPI document", async () => {
    const doc = (await (await gateway.request("/openapi.json")).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/imports", "/v1/imports/{id}"]),
    );
  });
});

describe("an import after an erasure (docs/design.md §3 rule 1)", () => {
  it("refuses evidence dated before the erasure, and takes a fresh consent after it", async () => {
    const email = "vymazana@example.cz";
    await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      `${HEADER}\n${email},2025-03-03 03:03:03,,\n`,
    );
    const erased = await gateway.request(`/v1/subjects/${email}`, { method: "DELETE", key });
    expect(erased.status).toBe(200);
    gateway.clock.advance(24 * 60 * 60_000);

    // The old export again, and a consent dated before the erasure in another case.
    const old = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      `${HEADER}\n${email},2025-03-03 03:03:03,,\nVymazana@Example.cz,2026-11-01 10:00:00,,\n`,
    );
    expect(old.rejected).toEqual([
      { line: 2, reason: ERASED_REASON },
      { line: 3, reason: ERASED_REASON },
    ]);
    expect(old.imported).toBe(0);
    expect(await decisionFor(gateway, key, email, "tips")).toMatchObject({
      decision: "suppress",
      reasons: ["erased"],
    });
    const subject = await gateway.deps.db.query.subjects.findFirst({
      where: (s, { isNull }) => isNull(s.email),
    });
    expect(subject).toBeDefined();

    // A consent given after the erasure is a fresh opt-in.
    const fresh = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      `${HEADER}\n${email},2026-11-24 08:00:00,,\n`,
    );
    expect(fresh).toMatchObject({ imported: 1, rejectedCount: 0 });
    const decision = await decisionFor(gateway, key, email, "tips");
    expect(decision).toMatchObject({ decision: "send", basis: "consent" });
  });
});
