import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settingsChanges } from "../../src/db/schema.js";
import { createKey, expectProblem } from "../http/helpers.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics, OPERATOR_TOKEN } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { RUNTIMES } from "../support/runtimes.js";

/**
 * The retention floor (docs/design.md §5: `proofDays` ≥ 1,096 for a tenant key, less only by the
 * operator) and the record of every settings change (who, when, what; secrets as "changed").
 */

interface Change {
  id: string;
  at: string;
  actor: string;
  changes: { field: string; from?: unknown; to: unknown }[];
}

const SENDGRID_KEY = "SG.secretvalue-0123456789.abcdefghijklmnopqrstuvwxyz";

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let admin: string;
  let adminId: string;
  let tenantId: string;

  beforeAll(async () => {
    gw = await runtime.start();
    ({ key: admin, tenantId } = await createTenantWithTopics(gw));
    const keys = (await (await gw.request("/v1/keys", { key: admin })).json()) as {
      keys: { id: string }[];
    };
    adminId = keys.keys[0]?.id ?? "";
  });
  afterAll(async () => {
    await gw?.stop();
  });

  async function changes(key = admin, query = "") {
    const res = await gw.request(`/v1/settings/changes${query}`, { key });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return { body: JSON.parse(text) as { changes: Change[]; nextCursor: string | null }, text };
  }

  const proofDays = async () =>
    (
      (await (await gw.request("/v1/settings", { key: admin })).json()) as {
        retention: { proofDays: number };
      }
    ).retention.proofDays;

  it("refuses a tenant key fewer than 1,096 proof days (422), and records nothing", async () => {
    const before = (await changes()).body.changes.length;
    const res = await gw.request("/v1/settings", {
      method: "PATCH",
      key: admin,
      json: { retention: { proofDays: 1095, consentLifetimeMonths: 12 } },
    });
    const problem = await expectProblem(res, 422, "retention-below-floor");
    expect(problem.errors).toEqual([{ pointer: "/retention/proofDays", detail: "at least 1096" }]);
    expect(await proofDays()).toBe(1096);
    // Nothing half-written: the consent lifetime in the same patch was not applied either.
    const settings = (await (await gw.request("/v1/settings", { key: admin })).json()) as {
      retention: { consentLifetimeMonths: number | null };
    };
    expect(settings.retention.consentLifetimeMonths).toBeNull();
    expect((await changes()).body.changes).toHaveLength(before);
  });

  it("lets the operator set fewer days, and records the operator as who did", async () => {
    const res = await gw.request(`/v1/tenants/${tenantId}/settings`, {
      method: "PATCH",
      key: OPERATOR_TOKEN,
      json: { retention: { proofDays: 30 } },
    });
    expect(res.status, await res.text()).toBe(200);
    expect(await proofDays()).toBe(30);
    // (On Node the test clock stands still: changes of one instant are found by what they say.)
    const byOperator = (await changes()).body.changes.filter((c) => c.actor === "operator");
    expect(byOperator.map((c) => c.changes)).toContainEqual([
      { field: "/retention/proofDays", from: 1096, to: 30 },
    ]);
    // A tenant key cannot use the operator's route.
    await expectProblem(
      await gw.request(`/v1/tenants/${tenantId}/settings`, {
        method: "PATCH",
        key: admin,
        json: { retention: { proofDays: 30 } },
      }),
      401,
      "unauthenticated",
    );
    await expectProblem(
      await gw.request("/v1/tenants/ten_nope/settings", {
        method: "PATCH",
        key: OPERATOR_TOKEN,
        json: {},
      }),
      404,
      "not-found",
    );
  });

  it("records who changed what and when; a secret only as changed, never its value", async () => {
    const before = gw.clock();
    const res = await gw.request("/v1/settings", {
      method: "PATCH",
      key: admin,
      json: {
        sendgrid: { apiKey: SENDGRID_KEY, categories: { newsletter: "tips" } },
        retention: { proofDays: 2000 },
      },
    });
    expect(res.status).toBe(200);
    const { body, text } = await changes();
    const latest = body.changes.find((c) => c.changes[0]?.field === "/sendgrid/apiKey");
    expect(latest?.actor).toBe(`key:${adminId}`);
    expect(Date.parse(latest?.at ?? "")).toBeGreaterThanOrEqual(before);
    expect(latest?.changes).toEqual([
      { field: "/sendgrid/apiKey", to: "changed" },
      { field: "/sendgrid/categories", from: {}, to: { newsletter: "tips" } },
      { field: "/retention/proofDays", from: 30, to: 2000 },
    ]);
    expect(text).not.toContain("secretvalue");
    const rows = await databaseOf(gw).select().from(settingsChanges);
    expect(JSON.stringify(rows)).not.toContain("secretvalue");

    // Removing it: "removed". An unchanged value is not a change.
    await gw.request("/v1/settings", {
      method: "PATCH",
      key: admin,
      json: { sendgrid: { apiKey: null }, retention: { proofDays: 2000 } },
    });
    const after = (await changes()).body.changes;
    expect(after).toHaveLength(body.changes.length + 1);
    expect(after.map((c) => c.changes)).toContainEqual([
      { field: "/sendgrid/apiKey", to: "removed" },
    ]);
  });

  it("records keys created and revoked, without their secrets", async () => {
    const res = await gw.request("/v1/keys", {
      method: "POST",
      key: admin,
      json: { scopes: ["compliance:read"], name: "auditor" },
    });
    const reader = (await res.json()) as { id: string; key: string };
    await gw.request(`/v1/keys/${reader.id}`, { method: "DELETE", key: admin });
    const { body, text } = await changes();
    expect(text).not.toContain(reader.key);
    const about = (field: string) =>
      body.changes.filter((c) => c.changes.some((change) => change.field === field));
    expect(about(`/keys/${reader.id}`)).toMatchObject([
      {
        actor: `key:${adminId}`,
        changes: [
          {
            field: `/keys/${reader.id}`,
            from: null,
            to: { name: "auditor", scopes: ["compliance:read"], expiresAt: null },
          },
        ],
      },
    ]);
    expect(about(`/keys/${reader.id}/revokedAt`)).toHaveLength(1);
    // Revoking again changes nothing, and records nothing.
    await gw.request(`/v1/keys/${reader.id}`, { method: "DELETE", key: admin });
    expect((await changes()).body.changes).toHaveLength(body.changes.length);
    // The tenant's first admin key was created with the tenant, by the operator.
    expect(about(`/keys/${adminId}`)).toMatchObject([
      { actor: "operator", changes: [{ field: `/keys/${adminId}`, from: null }] },
    ]);
  });

  it("is read with compliance:read, paged newest first, and only the caller's tenant", async () => {
    const reader = await createKey(gw, admin, ["compliance:read"]);
    const sender = await createKey(gw, admin, ["send"]);
    await expectProblem(
      await gw.request("/v1/settings/changes", { key: sender }),
      403,
      "forbidden",
    );
    const all = (await changes(reader)).body.changes;
    const paged: Change[] = [];
    let cursor: string | null = null;
    do {
      const { body }: { body: { changes: Change[]; nextCursor: string | null } } = await changes(
        reader,
        `?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      paged.push(...body.changes);
      cursor = body.nextCursor;
    } while (cursor);
    expect(paged.map((c) => c.id)).toEqual(all.map((c) => c.id));
    const times = all.map((c) => Date.parse(c.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const other = await createTenantWithTopics(gw, { name: "Other" });
    const theirs = (await changes(other.key)).body.changes;
    expect(theirs).toHaveLength(1);
    expect(theirs.map((c) => c.id)).not.toContain(all[0]?.id);
  });
});
