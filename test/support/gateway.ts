import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfig } from "../../src/config.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { closeDatabaseOf } from "./database.js";
import type { GatewayRequestInit, GatewayUnderTest } from "./gateway-under-test.js";

export const OPERATOR_TOKEN = "test-operator-token-0123456789";
export const SECRET = "test-secret-0123456789-0123456789-0123456789";

/** A clock tests can move. */
export function testClock(start = Date.parse("2026-11-23T12:00:00Z")) {
  let now = start;
  const clock = () => now;
  clock.set = (at: number | string) => {
    now = typeof at === "string" ? Date.parse(at) : at;
  };
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

export type TestClock = ReturnType<typeof testClock>;

/**
 * A gateway on a real libSQL file of its own (one per test file, so test
 * files run in parallel), spoken to through its fetch handler.
 */
export async function startTestGateway(
  options: {
    clock?: TestClock;
    onQuery?: (sql: string) => void;
    /** More configuration, as environment variables (e.g. TRUSTED_PROXIES). */
    env?: Record<string, string>;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "grounds-test-"));
  const clock = options.clock ?? testClock();
  const dbPath = join(dir, "grounds.db");
  const config = readConfig({ ...environmentOf({ dbPath }), ...options.env });
  const gateway = await createNodeGateway(config, {
    clock,
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
  });
  const request = (path: string, init: GatewayRequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set("authorization", `Bearer ${init.key}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    const { json: _json, key: _key, clientIp, ...rest } = init;
    // The bindings @hono/node-server gives the app: the socket's peer is the client.
    const env = clientIp
      ? {
          incoming: {
            socket: {
              remoteAddress: clientIp,
              remotePort: 40000,
              remoteFamily: clientIp.includes(":") ? "IPv6" : "IPv4",
            },
          },
        }
      : undefined;
    return Promise.resolve(
      gateway.app.fetch(
        new Request(`http://grounds.test${path}`, { ...rest, headers, body: body ?? null }),
        env,
      ),
    );
  };
  return {
    ...gateway,
    runtime: "node" as const,
    dir,
    clock,
    request,
    dbPath,
    async stop() {
      gateway.close();
      closeDatabaseOf({ dbPath });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>;

/** The environment another process needs to open a test gateway's database as it does (the CLI). */
export function environmentOf(gateway: { dbPath: string }): Record<string, string> {
  return {
    DATABASE_URL: `file:${gateway.dbPath}`,
    GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    GROUNDS_SECRET: SECRET,
  };
}

/** Another gateway on the same database file and clock: a second instance, or the first restarted. */
export function anotherGatewayOn(gateway: TestGateway) {
  return createNodeGateway(readConfig(environmentOf(gateway)), { clock: gateway.clock });
}

export const TENANT = {
  name: "Optika",
  legalName: "Optika Praha s.r.o.",
  address: "Vodičkova 1, 110 00 Praha 1, Czech Republic",
  registrationId: "CZ12345678",
  contactEmail: "privacy@optika.example",
  domains: ["optika.example"],
  country: "CZ",
};

/** Creates a tenant (CZ by default) with the scenarios' topics; returns its admin key. */
export async function createTenantWithTopics(
  gateway: Pick<GatewayUnderTest, "request">,
  overrides: Partial<typeof TENANT> & { mode?: "jurisdictional" | "strict" } = {},
): Promise<{ tenantId: string; key: string }> {
  const created = await gateway.request("/v1/tenants", {
    method: "POST",
    key: OPERATOR_TOKEN,
    json: { ...TENANT, ...overrides },
  });
  if (created.status !== 201) throw new Error(`tenant: ${created.status} ${await created.text()}`);
  const { tenant, adminKey } = (await created.json()) as {
    tenant: { id: string };
    adminKey: { key: string };
  };
  for (const topic of [
    { id: "tips", name: "Tips", class: "marketing", categories: ["accessories"] },
    { id: "deals-lenses", name: "Lens deals", class: "marketing", categories: ["lenses"] },
    { id: "invoices", name: "Invoices", class: "service" },
  ]) {
    const res = await gateway.request("/v1/topics", {
      method: "POST",
      key: adminKey.key,
      json: topic,
    });
    if (res.status !== 201) throw new Error(`topic: ${res.status} ${await res.text()}`);
  }
  return { tenantId: tenant.id, key: adminKey.key };
}
