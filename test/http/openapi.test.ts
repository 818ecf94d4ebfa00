import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASES, REASONS } from "../../src/domain/vocabulary.js";
import { EXAMPLE_ORDER, EXAMPLES } from "../../src/http/openapi-document.js";
import { PROBLEMS } from "../../src/problems.js";
import { OPERATOR_TOKEN } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { nodeHarness, RUNTIMES } from "../support/runtimes.js";

/**
 * `/openapi.json` is an OpenAPI 3.1 document of the HTTP contract (docs/design.md §5):
 * the paths and methods as the contract spells them, the contract's field
 * names in the request bodies, and the scope each operation needs.
 */

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: Schema;
  enum?: string[];
  anyOf?: Schema[];
}
interface Operation {
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema: Schema; example?: unknown }>;
  };
  responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
}
interface Document {
  openapi: string;
  servers?: { url: string }[];
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

/** docs/design.md §5, every row, as OpenAPI path templates → methods → scope. */
const CONTRACT: Record<string, Record<string, string>> = {
  "/v1/tenants": { post: "operator" },
  "/v1/keys": { post: "admin", get: "admin" },
  "/v1/keys/{id}": { delete: "admin" },
  "/v1/topics": { post: "admin", get: "admin" },
  "/v1/settings": { get: "admin", patch: "admin" },
  "/v1/consents": { post: "evidence:write" },
  "/v1/subscriptions": { post: "evidence:write" },
  "/c/{token}": { get: "public", post: "public" },
  "/v1/customers": { post: "evidence:write" },
  "/v1/subjects/{email}": { put: "evidence:write", get: "compliance:read", delete: "admin" },
  "/v1/engagements": { post: "evidence:write" },
  "/v1/objections": { post: "evidence:write" },
  "/v1/suppressions": { post: "evidence:write", get: "compliance:read" },
  "/v1/suppressions/{email}/{reason}": { delete: "evidence:write" },
  "/v1/imports": { post: "evidence:write" },
  "/v1/imports/{id}": { get: "evidence:write" },
  "/v1/subjects/{email}/decision": { get: "send" },
  "/v1/messages": { post: "send" },
  "/v3/mail/send": { post: "send" },
  "/v1/proofs": { get: "compliance:read" },
  "/v1/evidence": { get: "compliance:read" },
  "/v1/integrity": { get: "compliance:read" },
  "/u/{token}": { get: "public", head: "public", post: "public" },
  "/webhooks/sendgrid/{tenant}": { post: "signed" },
  "/healthz": { get: "public" },
  "/openapi.json": { get: "public" },
  "/docs": { get: "public" },
  // A session begun with a compliance:read key (a cookie, not a bearer key).
  "/dashboard": { get: "session" },
  "/": { get: "public" },
  // The `type` URIs of problems (RFC 9457 §3.1.1) resolve here.
  "/problems/{type}": { get: "public" },
};

/** What is implemented so far: each must be documented, exactly so. */
const IMPLEMENTED: [string, string][] = [
  ["post", "/v1/tenants"],
  ["post", "/v1/keys"],
  ["get", "/v1/keys"],
  ["delete", "/v1/keys/{id}"],
  ["post", "/v1/topics"],
  ["get", "/v1/topics"],
  ["post", "/v1/consents"],
  ["post", "/v1/customers"],
  ["post", "/v1/engagements"],
  ["post", "/v1/objections"],
  ["post", "/v1/suppressions"],
  ["get", "/v1/suppressions"],
  ["delete", "/v1/suppressions/{email}/{reason}"],
  ["put", "/v1/subjects/{email}"],
  ["delete", "/v1/subjects/{email}"],
  ["get", "/v1/subjects/{email}/decision"],
  ["get", "/healthz"],
  ["get", "/openapi.json"],
];

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let doc: Document;

  beforeAll(async () => {
    gw = await runtime.start();
    const res = await gw.request("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    doc = (await res.json()) as Document;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

  function operations(): { path: string; method: string; op: Operation }[] {
    return Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ path, method, op })),
    );
  }

  function op(method: string, path: string): Operation {
    const found = doc.paths[path]?.[method];
    expect(found, `${method.toUpperCase()} ${path} is documented`).toBeDefined();
    return found as Operation;
  }

  function body(method: string, path: string): Schema {
    const requestBody = op(method, path).requestBody;
    expect(requestBody?.required).toBe(true);
    const schema = requestBody?.content["application/json"]?.schema;
    expect(schema, `${method} ${path} has a JSON body schema`).toBeDefined();
    return schema as Schema;
  }

  function expectFields(schema: Schema | undefined, fields: string[], required: string[] = []) {
    expect(schema?.type).toBe("object");
    expect(Object.keys(schema?.properties ?? {})).toEqual(expect.arrayContaining(fields));
    expect(schema?.required ?? []).toEqual(expect.arrayContaining(required));
    expect(schema?.additionalProperties).toBe(false);
  }

  const enumOf = (schema: Schema | undefined) => schema?.enum ?? [];

  /** A page (HTML, or a form post that redirects to one) answers no problem+json. */
  const isPage = (operation: Operation) =>
    Object.entries(operation.responses).some(
      ([status, r]) => status === "303" || Object.keys(r.content ?? {}).includes("text/html"),
    );

  describe("completeness", () => {
    it("names the server it is served from (PUBLIC_URL), so the samples run", () => {
      expect(doc.servers?.length).toBe(1);
      const url = doc.servers?.[0]?.url ?? "";
      expect(() => new URL(url)).not.toThrow();
      if (gw.runtime === "node") expect(url).toBe(nodeHarness(gw).deps.publicUrl);
    });

    it("documents Idempotency-Key on every authenticated write", () => {
      const writes = operations().filter(
        ({ method, op: operation }) =>
          ["post", "put", "patch", "delete"].includes(method) && operation.security,
      );
      expect(writes.length).toBeGreaterThan(15);
      for (const { path, method, op: operation } of writes) {
        expect(
          operation.parameters?.map((p) => `${p.in} ${p.name}`),
          `${method.toUpperCase()} ${path}`,
        ).toContain("header Idempotency-Key");
        expect(operation.responses["409"]?.description, `${method} ${path}`).toContain(
          "/problems/idempotency-key-in-use",
        );
        expect(operation.responses["422"]?.description, `${method} ${path}`).toContain(
          "/problems/idempotency-key-reused",
        );
      }
      // A read takes none.
      expect(op("get", "/v1/proofs").parameters?.map((p) => p.name)).not.toContain(
        "Idempotency-Key",
      );
    });

    it("documents every answer: a success, and each problem type under its own status", () => {
      const documented = new Set<string>();
      for (const { path, method, op: operation } of operations()) {
        const statuses = Object.keys(operation.responses);
        expect(
          statuses.some((s) => /^[23]\d\d$/.test(s)),
          `${method} ${path} documents its success`,
        ).toBe(true);
        if (isPage(operation)) continue;
        expect(statuses, `${method} ${path}`).toContain("500");
        for (const [status, response] of Object.entries(operation.responses)) {
          if (!/^[45]/.test(status)) continue;
          expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).toEqual([
            "application/problem+json",
          ]);
          const types = [...(response.description ?? "").matchAll(/\/problems\/([a-z-]+)/g)].map(
            (m) => m[1] ?? "",
          );
          expect(types.length, `${method} ${path} ${status} names its types`).toBeGreaterThan(0);
          for (const type of types) {
            expect(Object.keys(PROBLEMS), `${method} ${path}`).toContain(type);
            expect(PROBLEMS[type as keyof typeof PROBLEMS].status, `${type} in ${status}`).toBe(
              Number(status),
            );
            documented.add(type);
          }
        }
      }
      // Every problem the gateway can answer is documented on some operation
      // (these two are catalogued, but no route answers them).
      const unanswered = ["method-not-allowed", "unsupported-media-type"];
      expect([...documented].sort()).toEqual(
        Object.keys(PROBLEMS)
          .filter((type) => !unanswered.includes(type))
          .sort(),
      );
      // The answers that were missing before: a send's 422s, a duplicate topic's 409.
      expect(op("post", "/v1/messages").responses["422"]?.description).toContain(
        "/problems/unverified-sender-domain",
      );
      expect(op("post", "/v1/topics").responses["409"]?.description).toContain(
        "/problems/topic-exists",
      );
      expect(op("get", "/v1/subjects/{email}/decision").responses["404"]?.description).toContain(
        "/problems/topic-not-found",
      );
    });

    it("carries request examples, and each one runs as it is", async () => {
      let tenantId = "";
      const run = async (key: string, bearer: string) => {
        const [method = "", path = ""] = key.split(" ");
        const operation = op(method, path);
        const example = operation.requestBody?.content["application/json"]?.example;
        expect(example, `${key} has an example`).toEqual(EXAMPLES[key]);
        const concrete = path
          .replace("{email}", encodeURIComponent("jana.novak@example.cz"))
          .replace("{id}", tenantId);
        const res = await gw.request(concrete, {
          method: method.toUpperCase(),
          key: bearer,
          json: example,
        });
        expect(res.status, `${key}: ${await res.clone().text()}`).toBeLessThan(300);
        return res;
      };
      const [first, ...rest] = EXAMPLE_ORDER;
      expect(first).toBe("post /v1/tenants");
      const created = (await (await run(first ?? "", OPERATOR_TOKEN)).json()) as {
        tenant: { id: string };
        adminKey: { key: string };
      };
      tenantId = created.tenant.id;
      for (const key of rest) {
        // The operator's routes (under /v1/tenants) take the operator token.
        await run(key, key.includes("/v1/tenants/") ? OPERATOR_TOKEN : created.adminKey.key);
      }
      // Every operation with a JSON body has one, except where none can run as it is.
      for (const { path, method, op: operation } of operations()) {
        if (!operation.requestBody?.content["application/json"]) continue;
        expect(Object.keys(EXAMPLES), `${method} ${path}`).toContain(`${method} ${path}`);
      }
    });
  });

  // The routes of the app itself are at hand in the Node harness (the Worker runs the same app).
  if (runtime.name === "node")
    describe("every served route", () => {
      it("is in the document, and the document lists no route that is not served", () => {
        const served = new Set(
          nodeHarness(gw)
            .app.routes.filter((route) => route.method !== "ALL")
            .map(
              (route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, "{$1}")}`,
            ),
        );
        const inDocument = new Set(operations().map(({ path, method }) => `${method} ${path}`));
        expect(
          [...served].filter((r) => !inDocument.has(r)),
          "served but not documented",
        ).toEqual([]);
        expect(
          [...inDocument].filter((r) => !served.has(r)),
          "documented but not served",
        ).toEqual([]);
      });
    });

  describe("the document", () => {
    it("is OpenAPI 3.1 with a bearer security scheme", () => {
      expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
      expect(doc.info.title).toBe("Grounds");
      expect(doc.components?.securitySchemes?.bearer).toMatchObject({
        type: "http",
        scheme: "bearer",
      });
    });

    it("lists every implemented path and method of docs/design.md §5", () => {
      for (const [method, path] of IMPLEMENTED) op(method, path);
    });

    it("spells every contract path as the contract does, with only the contract's methods", () => {
      // The shape of a path, whatever its parameters are called or written like.
      const shape = (path: string) => path.replace(/\{[^}]*\}|:[^/]+/g, "{}").toLowerCase();
      const contractByShape = new Map(Object.keys(CONTRACT).map((p) => [shape(p), p]));
      for (const { path, method } of operations()) {
        expect(path, "an OpenAPI path template, not a router pattern").not.toMatch(/[:*]/);
        const contractPath = contractByShape.get(shape(path));
        if (!contractPath) continue; // beyond docs/design.md §5 (where it is silent)
        expect(path).toBe(contractPath);
        expect(
          Object.keys(CONTRACT[path] ?? {}),
          `${method.toUpperCase()} ${path} is in docs/design.md §5`,
        ).toContain(method);
      }
    });

    it("names each path template's parameters", () => {
      for (const { path, op: operation } of operations()) {
        const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const inPath = (operation.parameters ?? []).filter((p) => p.in === "path");
        expect(inPath.map((p) => p.name).sort(), path).toEqual([...names].sort());
        for (const p of inPath) expect(p.required).toBe(true);
      }
      const decision = op("get", "/v1/subjects/{email}/decision");
      expect(decision.parameters).toContainEqual(
        expect.objectContaining({ in: "query", name: "topic", required: true }),
      );
    });

    it("marks each operation with the credential it needs, as the contract says", () => {
      for (const { path, method, op: operation } of operations()) {
        const scope = CONTRACT[path]?.[method];
        if (scope === undefined) continue;
        if (scope === "public" || scope === "signed" || scope === "session") {
          expect(operation.security, `${method} ${path} is public`).toBeUndefined();
          if (scope === "session") expect(operation.description).toContain("session");
          continue;
        }
        expect(operation.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
        const needs =
          scope === "operator" ? "the operator token" : `an API key with scope \`${scope}\``;
        expect(operation.description, `${method} ${path}`).toContain(needs);
        for (const status of ["401", "403"]) {
          expect(Object.keys(operation.responses[status]?.content ?? {})).toEqual([
            "application/problem+json",
          ]);
        }
      }
    });

    it("every secured operation it lists exists and asks for a credential", async () => {
      for (const { path, method, op: operation } of operations()) {
        if (!operation.security) continue;
        const concrete = path
          .replace("{email}", "someone%40example.com")
          .replace("{reason}", "restricted")
          .replace(/\{\w+\}/g, "x");
        const res = await gw.request(`${concrete}?topic=tips`, {
          method: method.toUpperCase(),
          ...(operation.requestBody ? { json: {} } : {}),
        });
        expect(res.status, `${method.toUpperCase()} ${path}`).toBe(401);
        const answer = (await res.json()) as { type?: string; errors?: { help: string }[] };
        // The SendGrid drop-in answers in SendGrid's error shape, naming the problem in `help`.
        const type = path.startsWith("/v3/") ? answer.errors?.[0]?.help : answer.type;
        expect(type, `${method.toUpperCase()} ${path}`).toBe("/problems/unauthenticated");
      }
    });

    it("every public operation it lists answers without a credential", async () => {
      for (const [path, sample] of [
        ["/healthz", "/healthz"],
        ["/openapi.json", "/openapi.json"],
        ["/problems/{type}", "/problems/not-found"],
      ]) {
        if (!doc.paths[path as string]) continue;
        expect((await gw.request(sample as string)).status, sample).toBe(200);
      }
    });
  });

  describe("request bodies carry the contract's field names", () => {
    it("POST /v1/tenants", () => {
      const schema = body("post", "/v1/tenants");
      const fields = [
        "name",
        "legalName",
        "address",
        "registrationId",
        "contactEmail",
        "domains",
        "country",
      ];
      expectFields(schema, [...fields, "mode"], fields);
      expect(schema.properties?.domains?.type).toBe("array");
      expect(enumOf(schema.properties?.mode)).toEqual(["jurisdictional", "strict"]);
    });

    it("POST /v1/keys", () => {
      const schema = body("post", "/v1/keys");
      expectFields(schema, ["scopes"], ["scopes"]);
      expect(enumOf(schema.properties?.scopes?.items).sort()).toEqual(
        ["admin", "compliance:read", "evidence:write", "send"].sort(),
      );
    });

    it("POST /v1/topics", () => {
      const schema = body("post", "/v1/topics");
      expectFields(schema, ["id", "name", "description", "class", "categories"], ["id", "class"]);
      expect(enumOf(schema.properties?.class).sort()).toEqual(["marketing", "service"]);
      expect(schema.properties?.categories?.type).toBe("array");
    });

    it("POST /v1/consents", () => {
      const schema = body("post", "/v1/consents");
      expectFields(
        schema,
        ["email", "topics", "action", "collectedAt", "source", "wording", "confirmedAt", "subject"],
        ["email", "topics", "action", "collectedAt", "source"],
      );
      expect(enumOf(schema.properties?.action).sort()).toEqual(["grant", "withdraw"]);
      const source = schema.properties?.source;
      expectFields(source, ["method", "url", "ip", "userAgent"], ["method"]);
      expect(enumOf(source?.properties?.method)).toEqual(
        expect.arrayContaining(["web-form", "double-opt-in", "import", "api", "paper", "phone"]),
      );
      expectFields(schema.properties?.wording, ["version", "text"], ["version", "text"]);
      expectFields(schema.properties?.subject, [
        "country",
        "subscriberType",
        "birthYear",
        "ageVerified",
      ]);
      expect(enumOf(schema.properties?.subject?.properties?.subscriberType).sort()).toEqual([
        "corporate",
        "individual",
      ]);
    });

    it("POST /v1/customers", () => {
      const schema = body("post", "/v1/customers");
      expectFields(
        schema,
        ["email", "kind", "since", "lastPurchaseAt", "categories", "optOutOfferedAt", "subject"],
        ["email", "kind", "since", "lastPurchaseAt", "categories"],
      );
      expect(enumOf(schema.properties?.kind).sort()).toEqual(["inquiry", "purchase"]);
    });

    it("PUT /v1/subjects/{email}: every fact optional (docs/design.md §2)", () => {
      const schema = body("put", "/v1/subjects/{email}");
      expectFields(schema, ["country", "subscriberType", "birthYear", "ageVerified"]);
      expect(schema.required ?? []).toEqual([]);
      expect(enumOf(schema.properties?.subscriberType).sort()).toEqual(["corporate", "individual"]);
    });

    it("POST /v1/engagements", () => {
      const schema = body("post", "/v1/engagements");
      expectFields(schema, ["email", "kind", "at"], ["email", "kind", "at"]);
      expect(enumOf(schema.properties?.kind).sort()).toEqual(["click", "open", "visit"]);
    });

    it("POST /v1/objections", () => {
      const schema = body("post", "/v1/objections");
      expectFields(
        schema,
        ["email", "topics", "channel", "receivedAt", "note"],
        ["email", "topics", "channel", "receivedAt"],
      );
      expect(enumOf(schema.properties?.channel)).toEqual(
        expect.arrayContaining([
          "one-click",
          "preference-center",
          "spam-complaint",
          "email",
          "post",
          "phone",
          "api",
        ]),
      );
      // Topic ids, or "*" for all marketing.
      expect(JSON.stringify(schema.properties?.topics?.items)).toContain('"*"');
    });

    it("POST /v1/suppressions", () => {
      const schema = body("post", "/v1/suppressions");
      expectFields(schema, ["email", "reason"], ["email", "reason"]);
      expect(enumOf(schema.properties?.reason)).toEqual(
        expect.arrayContaining(["hard-bounce", "restricted"]),
      );
    });

    it("operations without a body declare none", () => {
      for (const [method, path] of [
        ["get", "/v1/topics"],
        ["delete", "/v1/suppressions/{email}/{reason}"],
        ["delete", "/v1/subjects/{email}"],
        ["get", "/v1/subjects/{email}/decision"],
      ] as const) {
        expect(op(method, path).requestBody, `${method} ${path}`).toBeUndefined();
      }
    });

    it("a decision's reasons and bases are the stable lists, `minor` among them (docs/design.md §3 rule 6)", () => {
      const answer = op("get", "/v1/subjects/{email}/decision").responses["200"]?.content?.[
        "application/json"
      ] as { schema?: Schema } | undefined;
      const reasons = enumOf(answer?.schema?.properties?.reasons?.items);
      expect(reasons).toEqual([...REASONS]);
      expect(reasons).toContain("minor");
      const basis = answer?.schema?.properties?.basis;
      const bases = enumOf(basis).length > 0 ? enumOf(basis) : basis?.anyOf?.flatMap(enumOf);
      expect(bases).toEqual([...BASES]);
      const send =
        op("post", "/v1/messages").responses["202"] ?? op("post", "/v1/messages").responses["200"];
      expect(JSON.stringify(send)).toContain('"minor"');
    });

    it("evidence writes document the 422 of an implausible time (docs/design.md §2)", () => {
      for (const path of [
        "/v1/consents",
        "/v1/customers",
        "/v1/engagements",
        "/v1/objections",
        "/v1/suppressions",
      ]) {
        const unprocessable = op("post", path).responses["422"];
        expect(Object.keys(unprocessable?.content ?? {}), path).toEqual([
          "application/problem+json",
        ]);
        expect(JSON.stringify(unprocessable), path).toContain("implausible-time");
      }
    });

    it("errors are documented as application/problem+json", () => {
      for (const { path, method, op: operation } of operations()) {
        if (isPage(operation)) continue;
        expect(Object.keys(operation.responses["400"]?.content ?? {}), `${method} ${path}`).toEqual(
          ["application/problem+json"],
        );
      }
    });
  });
});
