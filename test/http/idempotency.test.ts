import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, idempotencyKeys, tenants, topics } from "../../src/db/schema.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics, OPERATOR_TOKEN, TENANT } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { movedClock, RUNTIMES } from "../support/runtimes.js";
import { ago, consentBody, decisionOf, evidenceRows, expectProblem } from "./helpers.js";

/** `Idempotency-Key` on every write (docs/design.md §5): a retry never writes twice. */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let a: { tenantId: string; key: string };
  let b: { tenantId: string; key: string };

  beforeAll(async () => {
    gw = await runtime.start();
    a = await createTenantWithTopics(gw, { name: "Tenant A" });
    b = await createTenantWithTopics(gw, { name: "Tenant B" });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  interface Answer {
    status: number;
    replayed: string | null;
    contentType: string | null;
    text: string;
  }

  async function send(
    path: string,
    init: { method?: string; key: string; json?: unknown; idem?: string },
  ): Promise<Answer> {
    const res = await gw.request(path, {
      method: init.method ?? "POST",
      key: init.key,
      ...(init.json !== undefined ? { json: init.json } : {}),
      ...(init.idem !== undefined ? { headers: { "idempotency-key": init.idem } } : {}),
    });
    return {
      status: res.status,
      replayed: res.headers.get("idempotent-replayed"),
      contentType: res.headers.get("content-type"),
      text: await res.text(),
    };
  }

  const evidenceCount = async () => (await evidenceRows(gw)).length;
  const ids = (answer: Answer) =>
    ((JSON.parse(answer.text) as { evidence: { id: string }[] }).evidence ?? []).map((e) => e.id);

  let serial = 0;
  const fresh = (label: string) => `${label}-${++serial}@idempotency.example`;

  /** Every write, with a body that succeeds once; `setup` runs before the first try. */
  function writes(): {
    name: string;
    path: string;
    method: string;
    json?: unknown;
    setup?: () => Promise<void>;
    rows: () => Promise<number>;
  }[] {
    const email = fresh("writes");
    const rowsOf = (table: typeof apiKeys | typeof topics) => async () =>
      (await databaseOf(gw).select().from(table)).length;
    return [
      {
        name: "POST /v1/consents",
        path: "/v1/consents",
        method: "POST",
        json: consentBody(email, ["tips", "deals-lenses"], ago(gw, { days: 2 })),
        rows: evidenceCount,
      },
      {
        name: "POST /v1/customers",
        path: "/v1/customers",
        method: "POST",
        json: {
          email,
          kind: "purchase",
          since: ago(gw, { days: 9 }),
          lastPurchaseAt: ago(gw, { days: 3 }),
          categories: ["lenses"],
          optOutOfferedAt: ago(gw, { days: 9 }),
        },
        rows: evidenceCount,
      },
      {
        name: "POST /v1/engagements",
        path: "/v1/engagements",
        method: "POST",
        json: { email, kind: "click", at: ago(gw, { days: 1 }) },
        rows: evidenceCount,
      },
      {
        name: "POST /v1/objections",
        path: "/v1/objections",
        method: "POST",
        json: { email, topics: ["deals-lenses"], channel: "api", receivedAt: ago(gw, { days: 1 }) },
        rows: evidenceCount,
      },
      {
        name: "POST /v1/suppressions",
        path: "/v1/suppressions",
        method: "POST",
        json: { email, reason: "restricted", at: ago(gw, { days: 1 }) },
        rows: evidenceCount,
      },
      {
        name: "DELETE /v1/suppressions/{email}/{reason}",
        path: `/v1/suppressions/${email}/restricted`,
        method: "DELETE",
        rows: evidenceCount,
      },
      {
        name: "PUT /v1/subjects/{email}",
        path: `/v1/subjects/${email}`,
        method: "PUT",
        json: { country: "GB", subscriberType: "corporate" },
        rows: evidenceCount,
      },
      {
        name: "DELETE /v1/subjects/{email}",
        path: `/v1/subjects/${email}`,
        method: "DELETE",
        rows: evidenceCount,
      },
      {
        name: "POST /v1/topics",
        path: "/v1/topics",
        method: "POST",
        json: { id: `promo-${serial}`, name: "Promo", class: "marketing", categories: ["frames"] },
        rows: rowsOf(topics),
      },
      {
        name: "POST /v1/keys",
        path: "/v1/keys",
        method: "POST",
        json: { scopes: ["send"], name: "CRM" },
        rows: rowsOf(apiKeys),
      },
    ];
  }

  describe("same key, same request", () => {
    it("answers the first answer again, marked replayed, and writes once — on every write", async () => {
      for (const [i, w] of writes().entries()) {
        const idem = `same-${i}`;
        const before = await w.rows();
        const first = await send(w.path, { method: w.method, key: a.key, json: w.json, idem });
        expect([200, 201], `${w.name}: ${first.text}`).toContain(first.status);
        expect(first.replayed).toBeNull();
        const written = (await w.rows()) - before;
        expect(written, w.name).toBeGreaterThan(0);

        const again = await send(w.path, { method: w.method, key: a.key, json: w.json, idem });
        expect(again.status, w.name).toBe(first.status);
        expect(again.replayed, w.name).toBe("true");
        expect(again.contentType).toMatch(/^application\/json/);
        // A key is shown once: its replay carries the same id, never the secret.
        const shown = JSON.parse(first.text);
        expect(JSON.parse(again.text), w.name).toEqual(
          w.path === "/v1/keys" ? { ...shown, key: null } : shown,
        );
        expect((await w.rows()) - before, w.name).toBe(written);
      }
    });

    it("without a key, the same request is written twice (the control)", async () => {
      const body = consentBody(fresh("control"), ["tips"], ago(gw, { days: 1 }));
      const before = await evidenceCount();
      const first = await send("/v1/consents", { key: a.key, json: body });
      const second = await send("/v1/consents", { key: a.key, json: body });
      expect(ids(first)).not.toEqual(ids(second));
      expect((await evidenceCount()) - before).toBe(2);
    });

    it("a replayed consent returns the same evidence ids, and exactly one row per topic exists", async () => {
      const email = fresh("consent");
      const body = consentBody(email, ["tips"], ago(gw, { days: 1 }));
      const first = await send("/v1/consents", { key: a.key, json: body, idem: "consent-once" });
      const second = await send("/v1/consents", { key: a.key, json: body, idem: "consent-once" });
      const third = await send("/v1/consents", { key: a.key, json: body, idem: "consent-once" });
      expect(ids(second)).toEqual(ids(first));
      expect(ids(third)).toEqual(ids(first));
      const stored = (await evidenceRows(gw)).filter((r) => ids(first).includes(r.id));
      expect(stored).toHaveLength(1);
      expect((await decisionOf(gw, a.key, email, "tips")).evidence.map((e) => e.id)).toEqual(
        ids(first),
      );
    });

    it("two identical requests at once still write once", async () => {
      const body = consentBody(fresh("race"), ["tips"], ago(gw, { days: 1 }));
      const before = await evidenceCount();
      const answers = await Promise.all(
        [1, 2, 3].map(() => send("/v1/consents", { key: a.key, json: body, idem: "race" })),
      );
      expect((await evidenceCount()) - before).toBe(1);
      const fresh201 = answers.filter((x) => x.status === 201 && x.replayed === null);
      expect(fresh201).toHaveLength(1);
      for (const other of answers.filter((x) => x !== fresh201[0])) {
        if (other.status === 201) {
          expect(other.replayed).toBe("true");
          expect(ids(other)).toEqual(ids(fresh201[0] as Answer));
        } else {
          expect(other.status).toBe(409);
          expect(JSON.parse(other.text).type).toBe("/problems/idempotency-key-in-use");
        }
      }
    });
  });

  describe("same key, another request", () => {
    it("a different body → 422 /problems/idempotency-key-reused, and nothing is written", async () => {
      const email = fresh("reused");
      const first = await send("/v1/engagements", {
        key: a.key,
        json: { email, kind: "open", at: ago(gw, { days: 1 }) },
        idem: "reused",
      });
      expect(first.status).toBe(201);
      const before = await evidenceCount();
      const res = await gw.request("/v1/engagements", {
        method: "POST",
        key: a.key,
        json: { email, kind: "click", at: ago(gw, { days: 1 }) },
        headers: { "idempotency-key": "reused" },
      });
      await expectProblem(res, 422, "idempotency-key-reused");
      expect(await evidenceCount()).toBe(before);
    });

    it("the same body on another path → 422 as well", async () => {
      const body = { email: fresh("path"), reason: "hard-bounce", at: ago(gw, { days: 1 }) };
      expect(
        (await send("/v1/suppressions", { key: a.key, json: body, idem: "path" })).status,
      ).toBe(201);
      const res = await gw.request("/v1/engagements", {
        method: "POST",
        key: a.key,
        json: body,
        headers: { "idempotency-key": "path" },
      });
      await expectProblem(res, 422, "idempotency-key-reused");
    });
  });

  describe("failures don't burn the key", () => {
    it("a 400 keeps nothing: the corrected request with the same key is processed", async () => {
      const email = fresh("corrected");
      const bad = await send("/v1/consents", {
        key: a.key,
        json: { ...consentBody(email, ["tips"], ago(gw, { days: 1 })), action: "maybe" },
        idem: "corrected",
      });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).type).toBe("/problems/invalid-request");
      const before = await evidenceCount();
      const good = await send("/v1/consents", {
        key: a.key,
        json: consentBody(email, ["tips"], ago(gw, { days: 1 })),
        idem: "corrected",
      });
      expect(good.status).toBe(201);
      expect(good.replayed).toBeNull();
      expect((await evidenceCount()) - before).toBe(1);
      expect((await decisionOf(gw, a.key, email, "tips")).basis).toBe("consent");
    });

    it("a 422 from a service keeps nothing either", async () => {
      const email = fresh("unknown-topic");
      const bad = await send("/v1/objections", {
        key: a.key,
        json: { email, topics: ["nope"], channel: "api", receivedAt: ago(gw, { days: 1 }) },
        idem: "after-422",
      });
      expect(bad.status).toBe(422);
      const good = await send("/v1/objections", {
        key: a.key,
        json: { email, topics: ["tips"], channel: "api", receivedAt: ago(gw, { days: 1 }) },
        idem: "after-422",
      });
      expect(good.status).toBe(201);
      expect(good.replayed).toBeNull();
    });

    it("a failure is not replayed: the same bad request fails afresh, and never as replayed", async () => {
      const json = { email: fresh("bad"), kind: "forward", at: ago(gw, { days: 1 }) };
      for (let i = 0; i < 2; i++) {
        const answer = await send("/v1/engagements", { key: a.key, json, idem: "always-bad" });
        expect(answer.status).toBe(400);
        expect(answer.replayed).toBeNull();
      }
    });

    it("an Idempotency-Key that is empty or longer than 255 characters is refused", async () => {
      const before = await evidenceCount();
      for (const idem of ["", "k".repeat(256)]) {
        const res = await gw.request("/v1/engagements", {
          method: "POST",
          key: a.key,
          json: { email: fresh("long"), kind: "open", at: ago(gw, { days: 1 }) },
          headers: { "idempotency-key": idem },
        });
        const problem = await expectProblem(res, 400, "invalid-request");
        expect(problem.errors?.map((e) => e.pointer)).toEqual(["/headers/idempotency-key"]);
      }
      expect(await evidenceCount()).toBe(before);
      const ok = await send("/v1/engagements", {
        key: a.key,
        json: { email: fresh("long"), kind: "open", at: ago(gw, { days: 1 }) },
        idem: "k".repeat(255),
      });
      expect(ok.status).toBe(201);
    });
  });

  describe("keys are per tenant", () => {
    it("the same key string used by two tenants doesn't collide", async () => {
      const email = fresh("shared");
      const forA = await send("/v1/consents", {
        key: a.key,
        json: consentBody(email, ["tips"], ago(gw, { days: 1 })),
        idem: "order-1234",
      });
      const forB = await send("/v1/consents", {
        key: b.key,
        json: consentBody(email, ["deals-lenses"], ago(gw, { days: 1 })),
        idem: "order-1234",
      });
      expect(forA.status).toBe(201);
      expect(forB.status).toBe(201);
      expect(forB.replayed).toBeNull();
      expect((await decisionOf(gw, b.key, email, "deals-lenses")).basis).toBe("consent");
      expect((await decisionOf(gw, b.key, email, "tips")).reasons).toEqual(["no-basis"]);
    });

    it("B sending A's very request with A's key string gets its own write, not A's answer", async () => {
      const json = consentBody(fresh("same-body"), ["tips"], ago(gw, { days: 1 }));
      const forA = await send("/v1/consents", { key: a.key, json, idem: "same-body" });
      const forB = await send("/v1/consents", { key: b.key, json, idem: "same-body" });
      expect(forB.status).toBe(201);
      expect(forB.replayed).toBeNull();
      expect(ids(forB)).not.toEqual(ids(forA));
      const rows = await evidenceRows(gw);
      expect(rows.find((r) => r.id === ids(forA)[0])?.tenantId).toBe(a.tenantId);
      expect(rows.find((r) => r.id === ids(forB)[0])?.tenantId).toBe(b.tenantId);
    });

    it("two keys of one tenant share its key space", async () => {
      const created = await send("/v1/keys", { key: a.key, json: { scopes: ["evidence:write"] } });
      const writer = (JSON.parse(created.text) as { key: string }).key;
      const json = { email: fresh("two-keys"), kind: "visit", at: ago(gw, { days: 1 }) };
      const first = await send("/v1/engagements", { key: a.key, json, idem: "tenant-wide" });
      const second = await send("/v1/engagements", { key: writer, json, idem: "tenant-wide" });
      expect(second.replayed).toBe("true");
      expect(ids(second)).toEqual(ids(first));
    });
  });

  describe("POST /v1/tenants with the operator token", () => {
    it("replays the created tenant; a different body is refused; one tenant is made", async () => {
      const tenantCount = async () => (await databaseOf(gw).select().from(tenants)).length;
      const before = await tenantCount();
      const body = { ...TENANT, name: "Idempotent Optika" };
      const first = await send("/v1/tenants", {
        key: OPERATOR_TOKEN,
        json: body,
        idem: "tenant-1",
      });
      const again = await send("/v1/tenants", {
        key: OPERATOR_TOKEN,
        json: body,
        idem: "tenant-1",
      });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.replayed).toBe("true");
      const made = JSON.parse(first.text) as {
        tenant: { id: string };
        adminKey: { id: string; key: string };
      };
      expect(made.adminKey.key).toMatch(/^grk_/);
      // The admin key is shown once; the replay names it without the secret.
      expect(JSON.parse(again.text)).toEqual({
        ...made,
        adminKey: { ...made.adminKey, key: null },
      });
      const stored = await databaseOf(gw).select().from(idempotencyKeys);
      expect(stored.some((row) => row.body?.includes(made.adminKey.key))).toBe(false);
      expect(await tenantCount()).toBe(before + 1);

      const other = await gw.request("/v1/tenants", {
        method: "POST",
        key: OPERATOR_TOKEN,
        json: { ...body, name: "Another Optika" },
        headers: { "idempotency-key": "tenant-1" },
      });
      await expectProblem(other, 422, "idempotency-key-reused");
      expect(await tenantCount()).toBe(before + 1);
    });

    it("the operator's key space is not a tenant's", async () => {
      const forTenant = await send("/v1/engagements", {
        key: a.key,
        json: { email: fresh("op"), kind: "open", at: ago(gw, { days: 1 }) },
        idem: "operator-or-tenant",
      });
      expect(forTenant.status).toBe(201);
      const forOperator = await send("/v1/tenants", {
        key: OPERATOR_TOKEN,
        json: { ...TENANT, name: "Operator Space" },
        idem: "operator-or-tenant",
      });
      expect(forOperator.status).toBe(201);
      expect(forOperator.replayed).toBeNull();
    });
  });

  // Node only: a day must pass on the gateway's clock; workerd's is the real one.
  if (runtime.name === "node") {
    describe("expiry", () => {
      it("a key is replayed for a day; after that the same key starts afresh", async () => {
        const json = { email: fresh("expiry"), kind: "open", at: ago(gw, { days: 1 }) };
        const first = await send("/v1/engagements", { key: a.key, json, idem: "daily" });
        movedClock(gw).advance(23 * 60 * 60_000);
        const within = await send("/v1/engagements", { key: a.key, json, idem: "daily" });
        expect(within.replayed).toBe("true");
        expect(ids(within)).toEqual(ids(first));
        movedClock(gw).advance(2 * 60 * 60_000);
        const after = await send("/v1/engagements", { key: a.key, json, idem: "daily" });
        expect(after.status).toBe(201);
        expect(after.replayed).toBeNull();
        expect(ids(after)).not.toEqual(ids(first));
      });
    });
  }
});
