import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../src/db/schema.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics, OPERATOR_TOKEN, TENANT } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { RUNTIMES } from "../support/runtimes.js";
import {
  ago,
  ahead,
  consentBody,
  evidenceRows,
  expectProblem,
  type ProblemBody,
  subjectRows,
} from "./helpers.js";

/**
 * Every endpoint answers bad input with an RFC 9457 problem of a stable type
 * that names the field, never echoes personal data from the request, and
 * leaves nothing half-written behind.
 */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let key: string;

  beforeAll(async () => {
    gw = await runtime.start();
    ({ key } = await createTenantWithTopics(gw));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  /** Distinctive personal data: none of it may appear in any error body. */
  const PII = {
    email: "Jana.Novakova.Pii7731@secret-mailbox.example",
    badEmail: "jana-pii-7731-at-nowhere",
    ip: "192.0.2.173",
    badIp: "999.77.31.173",
    userAgent: "PiiAgent/7.31 (leak-check; Jana)",
    note: "Pii note: Jana called from +420 777 123 456",
    url: "https://optika.example/landing?who=jana-pii-7731",
  };
  const MARKERS = [
    "novakova",
    "pii7731",
    "pii-7731",
    "secret-mailbox",
    "192.0.2.173",
    "999.77.31",
    "piiagent",
    "777 123 456",
    "jana",
  ];

  function expectNoPersonalData(raw: string) {
    const lower = raw.toLowerCase();
    for (const marker of MARKERS)
      expect(lower, `error body leaks "${marker}"`).not.toContain(marker);
  }

  async function problem(
    res: Response,
    status: number,
    type: string,
    pointers?: string[],
  ): Promise<ProblemBody> {
    const body = await expectProblem(res, status, type);
    expectNoPersonalData(body.raw);
    if (pointers) {
      // A field may carry more than one issue; each field is named.
      expect([...new Set(body.errors?.map((e) => e.pointer))], body.raw).toEqual(pointers);
      for (const error of body.errors ?? []) expect(error.detail.length).toBeGreaterThan(0);
    }
    return body;
  }

  const post = (path: string, json: unknown, k = key) =>
    gw.request(path, { method: "POST", key: k, json });

  const consentWithPii = (extra: Record<string, unknown> = {}) =>
    consentBody(PII.email, ["tips"], ago(gw, { days: 1 }), {
      source: { method: "web-form", ip: PII.ip, userAgent: PII.userAgent, url: PII.url },
      ...extra,
    });

  describe("invalid-request names the fields, and echoes no value", () => {
    it("POST /v1/tenants", async () => {
      await problem(await post("/v1/tenants", {}, OPERATOR_TOKEN), 400, "invalid-request", [
        "/name",
        "/legalName",
        "/address",
        "/registrationId",
        "/contactEmail",
        "/domains",
        "/country",
      ]);
      await problem(
        await post(
          "/v1/tenants",
          {
            ...TENANT,
            contactEmail: PII.badEmail,
            domains: ["not a domain"],
            country: "CZE",
            mode: "lenient",
          },
          OPERATOR_TOKEN,
        ),
        400,
        "invalid-request",
        ["/contactEmail", "/domains/0", "/country", "/mode"],
      );
    });

    it("POST /v1/keys", async () => {
      await problem(await post("/v1/keys", { scopes: [] }), 400, "invalid-request", ["/scopes"]);
      await problem(
        await post("/v1/keys", { scopes: ["send", "root"], owner: PII.email }),
        400,
        "invalid-request",
        ["/scopes/1", "/owner"],
      );
    });

    it("POST /v1/topics", async () => {
      await problem(
        await post("/v1/topics", { id: "Not Valid!", name: "", class: "promo" }),
        400,
        "invalid-request",
        ["/id", "/name", "/class"],
      );
      await problem(
        await post("/v1/topics", { id: "ok", name: "OK", class: "marketing", categories: [""] }),
        400,
        "invalid-request",
        ["/categories/0"],
      );
    });

    it("POST /v1/consents", async () => {
      await problem(
        await post("/v1/consents", {
          email: PII.badEmail,
          topics: [],
          action: "maybe",
          collectedAt: "yesterday",
          source: { method: "carrier-pigeon", ip: PII.badIp, userAgent: PII.userAgent },
          wording: { version: "v1", text: "   " },
        }),
        400,
        "invalid-request",
        [
          "/email",
          "/topics",
          "/action",
          "/collectedAt",
          "/source/method",
          "/source/ip",
          "/wording/text",
        ],
      );
      await problem(
        await post("/v1/consents", consentWithPii({ confirmIp: PII.badIp })),
        400,
        "invalid-request",
        ["/confirmIp"],
      );
      await problem(
        await post("/v1/consents", consentWithPii({ comment: PII.note })),
        400,
        "invalid-request",
        ["/comment"],
      );
      await problem(
        await post("/v1/consents", {
          ...consentWithPii(),
          source: {
            method: "web-form",
            ip: PII.ip,
            userAgent: `${PII.userAgent}${"x".repeat(1000)}`,
          },
        }),
        400,
        "invalid-request",
        ["/source/userAgent"],
      );
      await problem(
        await post(
          "/v1/consents",
          consentWithPii({ subject: { country: "Czechia", birthYear: 1.5 } }),
        ),
        400,
        "invalid-request",
        ["/subject/country", "/subject/birthYear"],
      );
    });

    it("an unknown field is called unknown, not missing", async () => {
      const body = await problem(
        await post("/v1/consents", consentWithPii({ tenantId: "x" })),
        400,
        "invalid-request",
        ["/tenantId"],
      );
      expect(body.errors?.[0]?.detail).not.toBe("required");
      const missing = await problem(
        await post("/v1/engagements", { kind: "open", at: ago(gw) }),
        400,
        "invalid-request",
        ["/email"],
      );
      expect(missing.errors?.[0]?.detail).toBe("required");
    });

    it("POST /v1/customers", async () => {
      await problem(
        await post("/v1/customers", {
          email: PII.email,
          kind: "friend",
          since: "2026-13-45",
          lastPurchaseAt: 1700000000000,
          categories: "lenses",
          optOutOfferedAt: "soon",
        }),
        400,
        "invalid-request",
        ["/kind", "/since", "/lastPurchaseAt", "/categories", "/optOutOfferedAt"],
      );
    });

    it("POST /v1/engagements", async () => {
      await problem(
        await post("/v1/engagements", {
          email: PII.email,
          kind: "forward",
          at: "2026-01-01T10:00",
        }),
        400,
        "invalid-request",
        ["/kind", "/at"],
      );
    });

    it("POST /v1/objections", async () => {
      await problem(
        await post("/v1/objections", {
          email: PII.badEmail,
          topics: ["Tips!"],
          channel: "pigeon",
          receivedAt: ago(gw),
          note: `${PII.note}${"x".repeat(2000)}`,
        }),
        400,
        "invalid-request",
        ["/email", "/topics/0", "/channel", "/note"],
      );
      await problem(
        await post("/v1/objections", {
          email: PII.email,
          topics: ["*", "tips"],
          channel: "email",
          receivedAt: ago(gw),
          note: PII.note,
        }),
        400,
        "invalid-request",
        ["/topics"],
      );
    });

    it("POST /v1/suppressions", async () => {
      await problem(
        await post("/v1/suppressions", { email: PII.email, reason: "erased", note: PII.note }),
        400,
        "invalid-request",
        ["/reason"],
      );
      await problem(
        await post("/v1/suppressions", { email: 42, reason: "hard-bounce" }),
        400,
        "invalid-request",
        ["/email"],
      );
    });

    it("PUT /v1/subjects/{email}", async () => {
      await problem(
        await gw.request(`/v1/subjects/${PII.email}`, {
          method: "PUT",
          key,
          json: { country: "CZE", subscriberType: "company", birthYear: 1850, ageVerified: "yes" },
        }),
        400,
        "invalid-request",
        ["/country", "/subscriberType", "/birthYear", "/ageVerified"],
      );
      const body = await problem(
        await gw.request(`/v1/subjects/${PII.badEmail}`, {
          method: "PUT",
          key,
          json: { country: "CZ", subscriberType: "individual" },
        }),
        400,
        "invalid-request",
      );
      expect(body.errors?.[0]?.pointer).toMatch(/email$/);
    });

    it("DELETE /v1/subjects/{email} and DELETE /v1/suppressions/{email}/{reason}", async () => {
      const erase = await problem(
        await gw.request(`/v1/subjects/${PII.badEmail}`, { method: "DELETE", key }),
        400,
        "invalid-request",
      );
      expect(erase.errors?.[0]?.pointer).toMatch(/email$/);
      const lift = await problem(
        await gw.request(`/v1/suppressions/${PII.badEmail}/restricted`, { method: "DELETE", key }),
        400,
        "invalid-request",
      );
      expect(lift.errors?.[0]?.pointer).toMatch(/email$/);
      await problem(
        await gw.request(`/v1/suppressions/${PII.email}/restricted`, { method: "DELETE", key }),
        404,
        "suppression-not-found",
      );
      await problem(
        await gw.request(`/v1/suppressions/${PII.email}/spam-complaint`, { method: "DELETE", key }),
        422,
        "suppression-not-liftable",
      );
    });

    it("GET /v1/subjects/{email}/decision", async () => {
      await problem(
        await gw.request(`/v1/subjects/${PII.email}/decision`, { key }),
        400,
        "invalid-request",
        ["/query/topic"],
      );
      await problem(
        await gw.request(`/v1/subjects/${PII.email}/decision?topic=Not%20a%20topic`, { key }),
        400,
        "invalid-request",
        ["/query/topic"],
      );
    });
  });

  describe("stable problem types", () => {
    it("topic-not-found: a decision for a topic the tenant doesn't have", async () => {
      await problem(
        await gw.request(`/v1/subjects/${PII.email}/decision?topic=newsletter`, { key }),
        404,
        "topic-not-found",
      );
    });

    it("unknown-topic: evidence naming a topic the tenant doesn't have, with its index", async () => {
      await problem(
        await post("/v1/consents", { ...consentWithPii(), topics: ["tips", "newsletter"] }),
        422,
        "unknown-topic",
        ["/topics/1"],
      );
      await problem(
        await post("/v1/objections", {
          email: PII.email,
          topics: ["newsletter"],
          channel: "email",
          receivedAt: ago(gw),
          note: PII.note,
        }),
        422,
        "unknown-topic",
        ["/topics/0"],
      );
    });

    it("topic-exists: a topic is not redefined", async () => {
      await problem(
        await post("/v1/topics", { id: "tips", name: "Tips again", class: "service" }),
        409,
        "topic-exists",
      );
      const [tips] = (await databaseOf(gw).select().from(topics)).filter((t) => t.id === "tips");
      expect(tips).toMatchObject({ name: "Tips", class: "marketing" });
    });

    it("not-found: an unknown path, an unknown problem type", async () => {
      await problem(await gw.request("/v1/nothing-here", { key }), 404, "not-found");
      await problem(await gw.request("/nothing-here"), 404, "not-found");
      await problem(await gw.request("/problems/no-such-problem"), 404, "not-found");
    });

    it("a problem type URI resolves to its documentation", async () => {
      for (const [type, status] of [
        ["invalid-request", 400],
        ["invalid-json", 400],
        ["unknown-topic", 422],
        ["payload-too-large", 413],
      ] as const) {
        const res = await gw.request(`/problems/${type}`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ type: `/problems/${type}`, status });
      }
    });
  });

  /** Every endpoint that takes a JSON body, with the credential it needs. */
  const JSON_ENDPOINTS = (): { method: string; path: string; key: string }[] => [
    { method: "POST", path: "/v1/tenants", key: OPERATOR_TOKEN },
    { method: "POST", path: "/v1/keys", key },
    { method: "POST", path: "/v1/topics", key },
    { method: "POST", path: "/v1/consents", key },
    { method: "POST", path: "/v1/customers", key },
    { method: "POST", path: "/v1/engagements", key },
    { method: "POST", path: "/v1/objections", key },
    { method: "POST", path: "/v1/suppressions", key },
    { method: "PUT", path: `/v1/subjects/${PII.email}`, key },
  ];

  describe("bodies", () => {
    it("malformed JSON → /problems/invalid-json, on every endpoint with a body", async () => {
      for (const endpoint of JSON_ENDPOINTS()) {
        const res = await gw.request(endpoint.path, {
          method: endpoint.method,
          key: endpoint.key,
          headers: { "content-type": "application/json" },
          body: `{"email": "${PII.email}", "source": {"ip": "${PII.ip}"`,
        });
        await problem(res, 400, "invalid-json");
      }
    });

    it("a body over 1 MiB → /problems/payload-too-large, on every endpoint with a body", async () => {
      const big = JSON.stringify({
        email: PII.email,
        note: PII.note,
        pad: "x".repeat(1024 * 1024),
      });
      for (const endpoint of JSON_ENDPOINTS()) {
        for (const headers of [
          { "content-type": "application/json" },
          { "content-type": "application/json", "content-length": String(big.length) },
        ]) {
          const res = await gw.request(endpoint.path, {
            method: endpoint.method,
            key: endpoint.key,
            headers,
            body: big,
          });
          await problem(res, 413, "payload-too-large");
        }
      }
    });

    it("a body just under 1 MiB is read and validated", async () => {
      const body = JSON.stringify({ ...consentWithPii(), pad: "x".repeat(1000 * 1000) });
      expect(body.length).toBeLessThan(1024 * 1024);
      await problem(
        await gw.request("/v1/consents", {
          method: "POST",
          key,
          headers: { "content-type": "application/json" },
          body,
        }),
        400,
        "invalid-request",
        ["/pad"],
      );
    });
  });

  describe("nothing half-written survives a failed request", () => {
    async function counts() {
      return {
        evidence: (await evidenceRows(gw)).length,
        subjects: (await subjectRows(gw)).length,
      };
    }

    it("a consent naming one known and one unknown topic writes no row at all", async () => {
      const before = await counts();
      await problem(
        await post("/v1/consents", {
          ...consentWithPii({ subject: { country: "DE", subscriberType: "individual" } }),
          topics: ["tips", "deals-lenses", "no-such-topic"],
        }),
        422,
        "unknown-topic",
        ["/topics/2"],
      );
      expect(await counts()).toEqual(before);
    });

    it("a consent naming a service topic among marketing ones writes nothing", async () => {
      const before = await counts();
      await problem(
        await post("/v1/consents", { ...consentWithPii(), topics: ["tips", "invoices"] }),
        422,
        "not-a-marketing-topic",
        ["/topics/1"],
      );
      expect(await counts()).toEqual(before);
    });

    it("an objection naming an unknown topic among known ones writes nothing", async () => {
      const before = await counts();
      await problem(
        await post("/v1/objections", {
          email: PII.email,
          topics: ["tips", "nope"],
          channel: "email",
          receivedAt: ago(gw),
          note: PII.note,
        }),
        422,
        "unknown-topic",
        ["/topics/1"],
      );
      expect(await counts()).toEqual(before);
    });

    it("evidence with subject facts but a date in the future writes neither", async () => {
      const before = await counts();
      await problem(
        await post("/v1/customers", {
          email: PII.email,
          kind: "purchase",
          since: ago(gw, { days: 1 }),
          lastPurchaseAt: ahead(gw, { days: 2 }),
          categories: ["lenses"],
          subject: { country: "US", subscriberType: "individual" },
        }),
        422,
        "implausible-time",
        ["/lastPurchaseAt"],
      );
      expect(await counts()).toEqual(before);
      // The address was never seen: no subject for it.
      const seen = (await subjectRows(gw)).some((s) => s.email?.toLowerCase().includes("pii7731"));
      expect(seen).toBe(false);
    });
  });
});
