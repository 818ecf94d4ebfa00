import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics, OPERATOR_TOKEN, TENANT } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { RUNTIMES } from "../support/runtimes.js";
import {
  ago,
  consentBody,
  createKey,
  decisionOf,
  erase,
  expectProblem,
  grant,
  putSubject,
  subjectRows,
  write,
} from "./helpers.js";

/**
 * Tenants are isolated: a key of tenant B never reads or changes tenant A's
 * data, on any endpoint; and every endpoint asks for its credential and scope.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let a: { tenantId: string; key: string };
  let b: { tenantId: string; key: string };

  beforeAll(async () => {
    gw = await runtime.start();
    a = await createTenantWithTopics(gw, { name: "Tenant A" });
    b = await createTenantWithTopics(gw, { name: "Tenant B", country: "CZ" });
    const secret = await gw.request("/v1/topics", {
      method: "POST",
      key: a.key,
      json: { id: "a-secret-offers", name: "A's secret offers", class: "marketing" },
    });
    expect(secret.status).toBe(201);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const topicIds = async (key: string) => {
    const res = await gw.request("/v1/topics", { key });
    expect(res.status).toBe(200);
    return ((await res.json()) as { topics: { id: string }[] }).topics.map((t) => t.id);
  };

  describe("topics", () => {
    it("B's list of topics does not show A's topics", async () => {
      expect(await topicIds(a.key)).toContain("a-secret-offers");
      expect(await topicIds(b.key)).toEqual(["deals-lenses", "invoices", "tips"]);
    });

    it("a topic id used by A is free for B, and B's definition doesn't change A's", async () => {
      const res = await gw.request("/v1/topics", {
        method: "POST",
        key: b.key,
        json: { id: "a-secret-offers", name: "B's own", class: "service" },
      });
      expect(res.status).toBe(201);
      const aTopics = (await (await gw.request("/v1/topics", { key: a.key })).json()) as {
        topics: { id: string; name: string; class: string }[];
      };
      expect(aTopics.topics.find((t) => t.id === "a-secret-offers")).toMatchObject({
        name: "A's secret offers",
        class: "marketing",
      });
    });

    it("B cannot record evidence against, or ask a decision for, a topic only A has", async () => {
      const onlyA = "a-only-topic";
      expect(
        (
          await gw.request("/v1/topics", {
            method: "POST",
            key: a.key,
            json: { id: onlyA, name: "Only A", class: "marketing" },
          })
        ).status,
      ).toBe(201);
      const email = "someone@shared.example";
      const consent = await gw.request("/v1/consents", {
        method: "POST",
        key: b.key,
        json: consentBody(email, [onlyA], ago(gw, { days: 1 })),
      });
      const problem = await expectProblem(consent, 422, "unknown-topic");
      expect(problem.errors).toEqual([{ pointer: "/topics/0", detail: "unknown topic" }]);
      await expectProblem(
        await gw.request("/v1/objections", {
          method: "POST",
          key: b.key,
          json: { email, topics: [onlyA], channel: "api", receivedAt: ago(gw, { days: 1 }) },
        }),
        422,
        "unknown-topic",
      );
      await expectProblem(
        await gw.request(`/v1/subjects/${email}/decision?topic=${onlyA}`, { key: b.key }),
        404,
        "topic-not-found",
      );
    });
  });

  describe("evidence of one tenant never affects the other's decision", () => {
    it("consent recorded by A does not let B mail the address, and vice versa", async () => {
      const email = "consent-iso@shared.example";
      await grant(gw, a.key, email, ["tips"], ago(gw, { months: 1 }));
      await grant(gw, b.key, email, ["deals-lenses"], ago(gw, { months: 1 }));
      expect((await decisionOf(gw, a.key, email, "tips")).basis).toBe("consent");
      expect((await decisionOf(gw, b.key, email, "tips")).reasons).toEqual(["no-basis"]);
      expect((await decisionOf(gw, b.key, email, "deals-lenses")).basis).toBe("consent");
      expect((await decisionOf(gw, a.key, email, "deals-lenses")).reasons).toEqual(["no-basis"]);
    });

    it("an objection and a withdrawal recorded by B do not stop A", async () => {
      const email = "objection-iso@shared.example";
      await grant(gw, a.key, email, ["tips"], ago(gw, { months: 2 }));
      await grant(gw, b.key, email, ["tips"], ago(gw, { months: 2 }));
      await write(gw, b.key, "/v1/objections", {
        email,
        topics: ["*"],
        channel: "one-click",
        receivedAt: ago(gw, { days: 3 }),
      });
      await write(gw, b.key, "/v1/consents", {
        email,
        topics: ["tips"],
        action: "withdraw",
        collectedAt: ago(gw, { days: 2 }),
        source: { method: "preference-center" },
      });
      expect((await decisionOf(gw, b.key, email, "tips")).decision).toBe("suppress");
      const d = await decisionOf(gw, a.key, email, "tips");
      expect(d.decision).toBe("send");
      expect(d.basis).toBe("consent");
    });

    it("a customer relationship recorded by A gives B no soft opt-in", async () => {
      const email = "customer-iso@shared.example";
      const at = ago(gw, { months: 2 });
      await write(gw, a.key, "/v1/customers", {
        email,
        kind: "purchase",
        since: at,
        lastPurchaseAt: at,
        categories: ["lenses"],
        optOutOfferedAt: at,
      });
      expect((await decisionOf(gw, a.key, email, "deals-lenses")).basis).toBe(
        "legitimate-interest",
      );
      const d = await decisionOf(gw, b.key, email, "deals-lenses");
      expect(d.reasons).toEqual(["no-basis"]);
      expect(d.evidence).toEqual([]);
    });

    it("an engagement recorded by B does not keep A's old consent fresh", async () => {
      const email = "engagement-iso@shared.example";
      await grant(gw, a.key, email, ["tips"], ago(gw, { months: 26 }));
      await write(gw, b.key, "/v1/engagements", { email, kind: "click", at: ago(gw, { days: 1 }) });
      expect((await decisionOf(gw, a.key, email, "tips")).reasons).toEqual(["consent-expired"]);
      // The same engagement at A does.
      await write(gw, a.key, "/v1/engagements", { email, kind: "click", at: ago(gw, { days: 1 }) });
      expect((await decisionOf(gw, a.key, email, "tips")).basis).toBe("consent");
    });

    it("a suppression recorded by B does not suppress at A", async () => {
      const email = "suppression-iso@shared.example";
      for (const reason of ["hard-bounce", "restricted", "spam-complaint"]) {
        await write(gw, b.key, "/v1/suppressions", { email, reason });
      }
      expect((await decisionOf(gw, b.key, email, "invoices")).decision).toBe("suppress");
      expect((await decisionOf(gw, a.key, email, "invoices")).basis).toBe("contract");
    });

    it("B cannot lift A's suppression (404), and A's stays in force", async () => {
      const email = "lift-iso@shared.example";
      await write(gw, a.key, "/v1/suppressions", {
        email,
        reason: "restricted",
        at: ago(gw, { days: 1 }),
      });
      await expectProblem(
        await gw.request(`/v1/suppressions/${email}/restricted`, { method: "DELETE", key: b.key }),
        404,
        "suppression-not-found",
      );
      expect((await decisionOf(gw, a.key, email, "invoices")).reasons).toEqual(["restricted"]);
      // A itself can lift it.
      const lifted = await gw.request(`/v1/suppressions/${email}/restricted`, {
        method: "DELETE",
        key: a.key,
      });
      expect(lifted.status).toBe(200);
      expect((await decisionOf(gw, a.key, email, "invoices")).basis).toBe("contract");
    });

    it("B's erasure does not erase A's subject", async () => {
      const email = "Erasure-Iso@Shared.example";
      await grant(gw, a.key, email, ["tips"], ago(gw, { months: 1 }), {
        subject: { country: "CZ", subscriberType: "individual" },
      });
      await grant(gw, b.key, email, ["tips"], ago(gw, { months: 1 }));
      await erase(gw, b.key, email);
      expect((await decisionOf(gw, b.key, email, "tips")).reasons).toEqual(["erased"]);
      const d = await decisionOf(gw, a.key, email, "tips");
      expect(d.basis).toBe("consent");
      const aSubject = (await subjectRows(gw)).filter(
        (s) => s.tenantId === a.tenantId && s.email === email,
      );
      expect(aSubject).toHaveLength(1);
      expect(aSubject[0]).toMatchObject({ country: "CZ", subscriberType: "individual" });
    });

    it("B's PUT of subject facts does not change A's decision", async () => {
      const email = "facts-iso@shared.example";
      await putSubject(gw, a.key, email, { country: "GB", subscriberType: "corporate" });
      expect(await decisionOf(gw, a.key, email, "tips")).toMatchObject({
        basis: "corporate-subscriber",
        ruleSet: "uk@1",
      });
      await putSubject(gw, b.key, email, { country: "US", subscriberType: "individual" });
      expect(await decisionOf(gw, b.key, email, "tips")).toMatchObject({
        basis: "opt-out-regime",
        ruleSet: "us@1",
      });
      expect(await decisionOf(gw, a.key, email, "tips")).toMatchObject({
        basis: "corporate-subscriber",
        ruleSet: "uk@1",
      });
      // Nor does facts given with B's evidence.
      await grant(gw, b.key, email, ["tips"], ago(gw, { days: 1 }), {
        subject: { country: "DE", subscriberType: "individual", birthYear: 2020 },
      });
      expect(await decisionOf(gw, a.key, email, "tips")).toMatchObject({
        basis: "corporate-subscriber",
        ruleSet: "uk@1",
      });
    });
  });

  describe("keys", () => {
    it("keys of B can't create keys for A: a key carries its creator's tenant only", async () => {
      const refused = await gw.request("/v1/keys", {
        method: "POST",
        key: b.key,
        json: { scopes: ["admin"], tenantId: a.tenantId },
      });
      const problem = await expectProblem(refused, 400, "invalid-request");
      expect(problem.errors?.map((e) => e.pointer)).toEqual(["/tenantId"]);

      await gw.request("/v1/topics", {
        method: "POST",
        key: a.key,
        json: { id: "a-key-probe", name: "Probe", class: "marketing" },
      });
      const made = await createKey(gw, b.key, ["admin"]);
      expect(await topicIds(made)).toEqual(await topicIds(b.key));
      expect(await topicIds(made)).not.toContain("a-key-probe");
      const email = "new-key@shared.example";
      await grant(gw, made, email, ["tips"], ago(gw, { days: 1 }));
      expect((await decisionOf(gw, b.key, email, "tips")).basis).toBe("consent");
      expect((await decisionOf(gw, a.key, email, "tips")).reasons).toEqual(["no-basis"]);
    });
  });

  describe("credentials and scopes", () => {
    const email = "scope@shared.example";
    const endpoints = (): { method: string; path: string; scope: string; json?: unknown }[] => [
      { method: "POST", path: "/v1/keys", scope: "admin", json: { scopes: ["send"] } },
      {
        method: "POST",
        path: "/v1/topics",
        scope: "admin",
        json: { id: "scoped", name: "S", class: "marketing" },
      },
      { method: "GET", path: "/v1/topics", scope: "admin" },
      {
        method: "POST",
        path: "/v1/consents",
        scope: "evidence:write",
        json: consentBody(email, ["tips"], ago(gw, { days: 1 })),
      },
      {
        method: "POST",
        path: "/v1/customers",
        scope: "evidence:write",
        json: {
          email,
          kind: "purchase",
          since: ago(gw, { days: 2 }),
          lastPurchaseAt: ago(gw, { days: 1 }),
          categories: [],
        },
      },
      {
        method: "POST",
        path: "/v1/engagements",
        scope: "evidence:write",
        json: { email, kind: "open", at: ago(gw, { days: 1 }) },
      },
      {
        method: "POST",
        path: "/v1/objections",
        scope: "evidence:write",
        json: { email, topics: ["*"], channel: "api", receivedAt: ago(gw, { days: 1 }) },
      },
      {
        method: "POST",
        path: "/v1/suppressions",
        scope: "evidence:write",
        json: { email, reason: "hard-bounce" },
      },
      { method: "DELETE", path: `/v1/suppressions/${email}/hard-bounce`, scope: "evidence:write" },
      {
        method: "PUT",
        path: `/v1/subjects/${email}`,
        scope: "evidence:write",
        json: { country: "CZ", subscriberType: "individual" },
      },
      { method: "DELETE", path: `/v1/subjects/${email}`, scope: "admin" },
      { method: "GET", path: `/v1/subjects/${email}/decision?topic=tips`, scope: "send" },
    ];

    it("a key without the endpoint's scope gets 403 /problems/forbidden, on every endpoint", async () => {
      const keys: Record<string, string> = {};
      for (const scope of ["send", "evidence:write", "compliance:read"]) {
        keys[scope] = await createKey(gw, b.key, [scope]);
      }
      for (const endpoint of endpoints()) {
        for (const [scope, key] of Object.entries(keys)) {
          if (scope === endpoint.scope) continue;
          const res = await gw.request(endpoint.path, {
            method: endpoint.method,
            key,
            ...(endpoint.json !== undefined ? { json: endpoint.json } : {}),
          });
          await expectProblem(res, 403, "forbidden");
        }
      }
    });

    it("a key with exactly the endpoint's scope is let through", async () => {
      for (const endpoint of endpoints()) {
        if (endpoint.scope === "admin") continue;
        const key = await createKey(gw, b.key, [endpoint.scope]);
        const res = await gw.request(endpoint.path, {
          method: endpoint.method,
          key,
          ...(endpoint.json !== undefined ? { json: endpoint.json } : {}),
        });
        expect([200, 201], `${endpoint.method} ${endpoint.path}: ${await res.text()}`).toContain(
          res.status,
        );
      }
    });

    it("no key, a garbage key, a malformed header → 401 /problems/unauthenticated", async () => {
      for (const endpoint of endpoints()) {
        const init = {
          method: endpoint.method,
          ...(endpoint.json !== undefined ? { json: endpoint.json } : {}),
        };
        await expectProblem(await gw.request(endpoint.path, init), 401, "unauthenticated");
        await expectProblem(
          await gw.request(endpoint.path, { ...init, key: "grk_not-a-real-key" }),
          401,
          "unauthenticated",
        );
        await expectProblem(
          await gw.request(endpoint.path, {
            ...init,
            headers: { authorization: `Basic ${a.key}` },
          }),
          401,
          "unauthenticated",
        );
      }
    });

    it("the operator token is not an API key", async () => {
      for (const endpoint of endpoints()) {
        await expectProblem(
          await gw.request(endpoint.path, {
            method: endpoint.method,
            key: OPERATOR_TOKEN,
            ...(endpoint.json !== undefined ? { json: endpoint.json } : {}),
          }),
          401,
          "unauthenticated",
        );
      }
    });

    it("an API key, even an admin key, is not the operator token", async () => {
      const body = { ...TENANT, name: "Impostor" };
      for (const key of [a.key, b.key, "garbage"]) {
        await expectProblem(
          await gw.request("/v1/tenants", { method: "POST", key, json: body }),
          401,
          "unauthenticated",
        );
      }
      await expectProblem(
        await gw.request("/v1/tenants", { method: "POST", json: body }),
        401,
        "unauthenticated",
      );
      const ok = await gw.request("/v1/tenants", {
        method: "POST",
        key: OPERATOR_TOKEN,
        json: body,
      });
      expect(ok.status).toBe(201);
    });

    it("a forbidden or unauthenticated answer reveals nothing of the other tenant", async () => {
      const sendOnly = await createKey(gw, b.key, ["send"]);
      const res = await gw.request(`/v1/subjects/${email}`, { method: "DELETE", key: sendOnly });
      const { raw } = await expectProblem(res, 403, "forbidden");
      expect(raw).not.toContain(a.tenantId);
      expect(raw).not.toContain(b.tenantId);
      expect(raw).not.toContain(email);
    });
  });
});
