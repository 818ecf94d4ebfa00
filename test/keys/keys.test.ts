import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem } from "../http/helpers.js";
import { runGrounds } from "../support/cli.js";
import {
  createTenantWithTopics,
  environmentOf,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { RUNTIMES } from "../support/runtimes.js";

/** API keys (docs/design.md §5): create with name and expiry, list, revoke at once, last admin kept. */

interface KeyView {
  id: string;
  name: string | null;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

async function create(gw: GatewayUnderTest, admin: string, json: Record<string, unknown>) {
  const res = await gw.request("/v1/keys", { method: "POST", key: admin, json });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as KeyView & { key: string };
}

async function list(gw: GatewayUnderTest, admin: string, query = "") {
  const res = await gw.request(`/v1/keys${query}`, { key: admin });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { body: JSON.parse(text) as { keys: KeyView[]; nextCursor: string | null }, text };
}

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let admin: string;

  beforeAll(async () => {
    gw = await runtime.start();
    ({ key: admin } = await createTenantWithTopics(gw));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("lists keys with name and scopes, never the secret or its hash", async () => {
    const shop = await create(gw, admin, { scopes: ["send"], name: "shop" });
    expect(shop.key).toMatch(/^grk_/);
    expect(shop.expiresAt).toBeNull();
    const { body, text } = await list(gw, admin);
    expect(text).not.toContain(shop.key);
    expect(text).not.toMatch(/hash/i);
    const listed = body.keys.find((key) => key.id === shop.id);
    expect(listed).toEqual({
      id: shop.id,
      name: "shop",
      scopes: ["send"],
      createdAt: shop.createdAt,
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    // The tenant's first admin key is listed too, and has been used (by this very listing).
    expect(body.keys.some((key) => key.name === "admin" && key.scopes.includes("admin"))).toBe(
      true,
    );
    expect(body.nextCursor).toBeNull();
  });

  it("revokes a key at once: its next request is 401", async () => {
    const crm = await create(gw, admin, { scopes: ["evidence:write", "compliance:read"] });
    expect((await gw.request("/v1/integrity", { key: crm.key })).status).toBe(200);
    const res = await gw.request(`/v1/keys/${crm.id}`, { method: "DELETE", key: admin });
    const revoked = (await res.json()) as KeyView;
    expect(res.status).toBe(200);
    expect(revoked.revokedAt).not.toBeNull();
    await expectProblem(
      await gw.request("/v1/integrity", { key: crm.key }),
      401,
      "unauthenticated",
    );
    // Revoking again answers the same key, still revoked.
    const again = await gw.request(`/v1/keys/${crm.id}`, { method: "DELETE", key: admin });
    expect(again.status).toBe(200);
    expect(((await again.json()) as KeyView).revokedAt).toBe(revoked.revokedAt);
  });

  it("keeps the last active admin key: 409, and it still works", async () => {
    const { body } = await list(gw, admin);
    const active = body.keys.filter((k) => k.scopes.includes("admin") && !k.revokedAt);
    expect(active).toHaveLength(1);
    const [only] = active;
    const res = await gw.request(`/v1/keys/${only?.id}`, { method: "DELETE", key: admin });
    const problem = await expectProblem(res, 409, "last-admin-key");
    expect(problem.detail).toMatch(/another admin key/);
    expect((await gw.request("/v1/keys", { key: admin })).status).toBe(200);

    // With a second admin key, the first can go; then the second is the last.
    const second = await create(gw, admin, { scopes: ["admin"], name: "second admin" });
    const first = await gw.request(`/v1/keys/${only?.id}`, { method: "DELETE", key: second.key });
    expect(first.status).toBe(200);
    await expectProblem(await gw.request("/v1/keys", { key: admin }), 401, "unauthenticated");
    await expectProblem(
      await gw.request(`/v1/keys/${second.id}`, { method: "DELETE", key: second.key }),
      409,
      "last-admin-key",
    );
    admin = second.key;
  });

  it("answers 404 for a key of another tenant, and revokes nothing there", async () => {
    const other = await createTenantWithTopics(gw, { name: "Other" });
    const theirs = await create(gw, other.key, { scopes: ["send"] });
    await expectProblem(
      await gw.request(`/v1/keys/${theirs.id}`, { method: "DELETE", key: admin }),
      404,
      "key-not-found",
    );
    expect((await gw.request("/v1/outbox", { key: theirs.key })).status).toBe(200);
    const mine = await list(gw, admin);
    expect(mine.text).not.toContain(theirs.id);
  });

  it("refuses an expiry in the past, and pages with a cursor", async () => {
    const past = await gw.request("/v1/keys", {
      method: "POST",
      key: admin,
      json: { scopes: ["send"], expiresAt: new Date(gw.clock() - 60_000).toISOString() },
    });
    const problem = await expectProblem(past, 400, "invalid-request");
    expect(problem.errors).toEqual([{ pointer: "/expiresAt", detail: "must lie in the future" }]);

    for (let i = 0; i < 3; i++) await create(gw, admin, { scopes: ["send"], name: `page ${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const { body } = await list(gw, admin, query);
      expect(body.keys.length).toBeLessThanOrEqual(2);
      seen.push(...body.keys.map((k) => k.id));
      cursor = body.nextCursor;
    } while (cursor);
    const all = (await list(gw, admin)).body.keys.map((k) => k.id);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
    await expectProblem(
      await gw.request("/v1/keys?cursor=bm9wZQ", { key: admin }),
      400,
      "invalid-request",
    );
  });
});

// Expiry and last use move with the clock: the Node harness's clock can be moved.
describe("on node, with a moving clock", () => {
  let gw: TestGateway;
  let admin: string;
  let tenantId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ key: admin, tenantId } = await createTenantWithTopics(gw));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("refuses a key after its expiry (401), and an expired admin key does not count", async () => {
    const expiresAt = new Date(gw.clock() + 3_600_000).toISOString();
    const temp = await create(gw, admin, { scopes: ["admin"], name: "temp", expiresAt });
    expect(temp.expiresAt).toBe(expiresAt);
    expect((await gw.request("/v1/keys", { key: temp.key })).status).toBe(200);
    gw.clock.advance(3_600_000);
    await expectProblem(await gw.request("/v1/keys", { key: temp.key }), 401, "unauthenticated");
    // The expired admin key is not a second admin: the first is still the last.
    const { body } = await list(gw, admin);
    const first = body.keys.find((k) => k.name === "admin");
    await expectProblem(
      await gw.request(`/v1/keys/${first?.id}`, { method: "DELETE", key: admin }),
      409,
      "last-admin-key",
    );
  });

  it("records the last use at most once a minute", async () => {
    const shop = await create(gw, admin, { scopes: ["send"], name: "shop" });
    const lastUsed = async () => {
      await gw.idle();
      return (await list(gw, admin)).body.keys.find((k) => k.id === shop.id)?.lastUsedAt;
    };
    expect(await lastUsed()).toBeNull();
    const firstUse = gw.clock();
    await gw.request("/v1/outbox", { key: shop.key });
    expect(await lastUsed()).toBe(new Date(firstUse).toISOString());
    gw.clock.advance(30_000);
    await gw.request("/v1/outbox", { key: shop.key });
    // Within the minute: not written again.
    expect(await lastUsed()).toBe(new Date(firstUse).toISOString());
    gw.clock.advance(31_000);
    await gw.request("/v1/outbox", { key: shop.key });
    expect(await lastUsed()).toBe(new Date(gw.clock()).toISOString());
  });

  it("lists and revokes from the CLI", { timeout: 90_000 }, async () => {
    const env = environmentOf(gw);
    const shop = await create(gw, admin, { scopes: ["send"], name: "cli shop" });
    const listed = await runGrounds(["key", "list", "--tenant", tenantId], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+SCOPES/);
    expect(listed.stdout).toContain(shop.id);
    expect(listed.stdout).toContain("cli shop");
    expect(listed.stdout).not.toContain(shop.key);

    const revoked = await runGrounds(["key", "revoke", "--tenant", tenantId, "--id", shop.id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`Key ${shop.id} revoked`);
    await expectProblem(await gw.request("/v1/outbox", { key: shop.key }), 401, "unauthenticated");

    const json = await runGrounds(["key", "list", "--tenant", tenantId, "--json"], env);
    const keys = (JSON.parse(json.stdout) as { keys: KeyView[] }).keys;
    expect(keys.find((k) => k.id === shop.id)?.revokedAt).not.toBeNull();

    const first = keys.find((k) => k.name === "admin");
    const last = await runGrounds(
      ["key", "revoke", "--tenant", tenantId, "--id", first?.id ?? ""],
      env,
    );
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/last active admin key/);
  });
});
