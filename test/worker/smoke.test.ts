import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { consentBody, type DecisionBody, expectProblem } from "../http/helpers.js";
import { OPERATOR_TOKEN, SECRET, TENANT } from "../support/gateway.js";
import { type GatewayUnderTest, gatewayRequest } from "../support/gateway-under-test.js";
import { startTestWorker, type TestWorker } from "../support/worker.js";

/**
 * The Workers build, inside workerd, against a real libSQL engine (the test Hrana server), and
 * beside it the Node gateway on the same database file: both must see the same storage, and
 * derive the same subject keys from the same GROUNDS_SECRET.
 */

let dir: string;
let worker: TestWorker;
let node: GatewayUnderTest & { close(): void };
let adminKey: string;
let startedInMs: number;

/** The Node gateway on the worker's database file, spoken to through its fetch handler. */
async function startNodeGatewayOn(dbPath: string) {
  const gateway = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${dbPath}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    }),
  );
  return {
    runtime: "node" as const,
    dbPath,
    clock: Date.now,
    request: async (path: string, init?: Parameters<GatewayUnderTest["request"]>[1]) =>
      gateway.app.fetch(gatewayRequest("http://grounds.test", path, init)),
    close: gateway.close,
    async stop() {
      gateway.close();
    },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-worker-smoke-"));
  const dbPath = join(dir, "grounds.db");
  const started = performance.now();
  worker = await startTestWorker({ dbPath });
  startedInMs = performance.now() - started;
  node = await startNodeGatewayOn(dbPath);
});

afterAll(async () => {
  await worker?.stop();
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Two months before now: the Worker's clock is the real one. */
const twoMonthsAgo = () => {
  const date = new Date(worker.clock());
  date.setUTCMonth(date.getUTCMonth() - 2);
  return date.toISOString();
};

const CZ_INDIVIDUAL = { subject: { country: "CZ", subscriberType: "individual" } };

async function decision(gateway: GatewayUnderTest, email: string, topic: string) {
  const res = await gateway.request(
    `/v1/subjects/${encodeURIComponent(email)}/decision?topic=${encodeURIComponent(topic)}`,
    { key: adminKey },
  );
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as DecisionBody;
}

async function grantTips(gateway: GatewayUnderTest, email: string) {
  const res = await gateway.request("/v1/consents", {
    method: "POST",
    key: adminKey,
    json: consentBody(email, ["tips"], twoMonthsAgo(), CZ_INDIVIDUAL),
  });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return (JSON.parse(text) as { evidence: { id: string }[] }).evidence;
}

/** What two runtimes must agree on; `decidedAt` is the moment of asking and may differ. */
function comparable({ decidedAt: _at, ...rest }: DecisionBody) {
  return rest;
}

describe("the Worker in workerd", () => {
  it("starts", () => {
    console.info(`workerd Worker started in ${Math.round(startedInMs)} ms at ${worker.url}`);
    expect(worker.runtime).toBe("workerd");
    expect(worker.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("answers GET /healthz, having written to the database", async () => {
    const res = await worker.fetch("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", database: { writable: true } });
  });

  it("creates a tenant with the operator token (and refuses one without it)", async () => {
    const refused = await worker.request("/v1/tenants", { method: "POST", json: TENANT });
    await expectProblem(refused, 401, "unauthenticated");

    const res = await worker.request("/v1/tenants", {
      method: "POST",
      key: OPERATOR_TOKEN,
      json: TENANT,
    });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const body = JSON.parse(text) as { tenant: { id: string }; adminKey: { key: string } };
    expect(body.tenant.id).toEqual(expect.any(String));
    adminKey = body.adminKey.key;
  });

  it("defines a topic", async () => {
    const res = await worker.request("/v1/topics", {
      method: "POST",
      key: adminKey,
      json: { id: "tips", name: "Tips", class: "marketing", categories: ["accessories"] },
    });
    expect(res.status, await res.text()).toBe(201);
  });

  it("records consent and decides send on consent under cz@1", async () => {
    const email = "consented@customers.example";
    const [consent] = await grantTips(worker, email);
    const d = await decision(worker, email, "tips");
    expect(d.decision, JSON.stringify(d.trace)).toBe("send");
    expect(d.basis).toBe("consent");
    expect(d.reasons).toEqual([]);
    expect(d.ruleSet).toBe("cz@1");
    expect(d.evidence.map((e) => e.id)).toContain(consent?.id);
  });

  it("suppresses an address with no evidence: no-basis", async () => {
    const d = await decision(worker, "stranger@customers.example", "tips");
    expect(d.decision).toBe("suppress");
    expect(d.basis).toBeNull();
    expect(d.reasons).toEqual(["no-basis"]);
  });

  it("answers bad input with application/problem+json, without echoing it", async () => {
    const email = "invalid-input@customers.example";
    const res = await worker.request("/v1/consents", {
      method: "POST",
      key: adminKey,
      json: { email, topics: ["tips"], action: "maybe" },
    });
    const problem = await expectProblem(res, 400, "invalid-request");
    expect(problem.errors?.map((e) => e.pointer)).toContain("/action");
    expect(problem.raw).not.toContain(email);

    const notJson = await worker.request("/v1/consents", {
      method: "POST",
      key: adminKey,
      headers: { "content-type": "application/json" },
      body: "{",
    });
    await expectProblem(notJson, 400, "invalid-json");
  });

  it("decides from evidence the Node gateway wrote to the same database, as Node does", async () => {
    const email = "written-by-node@customers.example";
    const [consent] = await grantTips(node, email);
    const fromWorker = await decision(worker, email, "tips");
    expect(fromWorker.decision, JSON.stringify(fromWorker.trace)).toBe("send");
    expect(fromWorker.ruleSet).toBe("cz@1");
    expect(fromWorker.evidence.map((e) => e.id)).toContain(consent?.id);
    expect(comparable(fromWorker)).toEqual(comparable(await decision(node, email, "tips")));
  });

  it("and Node decides from evidence the Worker wrote, as the Worker does", async () => {
    const email = "consented@customers.example";
    const fromNode = await decision(node, email, "tips");
    expect(fromNode.decision).toBe("send");
    expect(comparable(fromNode)).toEqual(comparable(await decision(worker, email, "tips")));
  });

  it("threw nothing uncaught", () => {
    expect(worker.logs.filter((l) => l.level === "uncaught" || l.level === "error")).toEqual([]);
  });
});
