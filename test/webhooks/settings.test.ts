import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tenantSettings, tenants } from "../../src/db/schema.js";
import type { SettingsView } from "../../src/services/settings/settings.js";
import { tenantSendGridKey } from "../../src/services/settings/tenant-sendgrid-key.js";
import { createKey, expectProblem } from "../http/helpers.js";
import { databaseOf } from "../support/database.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { RUNTIMES, servicesBeside } from "../support/runtimes.js";
import { patchSettings, webhookKeys } from "./helpers.js";

/** `GET`/`PATCH /v1/settings` (docs/design.md §5): SendGrid key, webhook key, mappings, retention. */

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  /** The gateway's services on its database file: what delivery reads the sealed key with. */
  let services: Awaited<ReturnType<typeof servicesBeside>>;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    gw = await runtime.start();
    services = await servicesBeside(gw);
    ({ key, tenantId } = await createTenantWithTopics(gw));
  });

  afterAll(async () => {
    services?.close();
    await gw?.stop();
  });

  const API_KEY = "SG.abcdefghijklmnop.qrstuvwxyz0123456789-ABCDEFGHIJ";

  async function getSettings(k = key) {
    const res = await gw.request("/v1/settings", { key: k });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return { body: JSON.parse(text) as SettingsView, text };
  }

  describe("settings", () => {
    it("starts empty, with the law's retention", async () => {
      const { body } = await getSettings();
      expect(body).toEqual({
        webhooks: [],
        sendgrid: {
          apiKey: { set: false, setAt: null },
          webhookPublicKey: null,
          webhookUrl: `http://localhost:8787/webhooks/sendgrid/${tenantId}`,
          inboundParseUrl: expect.stringMatching(
            new RegExp(
              `^http://localhost:8787/inbound/sendgrid/${tenantId}\\?key=[A-Za-z0-9_-]{43}$`,
            ),
          ),
          asmGroups: {},
          categories: {},
        },
        retention: { proofDays: 1096, consentLifetimeMonths: null, softOptInMonths: null },
      });
    });

    it("stores the API key sealed: never shown, not in clear in the database, readable for delivery", async () => {
      const keys = await webhookKeys();
      const before = gw.clock();
      const patched = await patchSettings(gw, key, {
        sendgrid: { apiKey: API_KEY, webhookPublicKey: keys.publicKey },
      });
      expect(JSON.stringify(patched)).not.toContain(API_KEY);
      const { body, text } = await getSettings();
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain("abcdefghijklmnop");
      // Set when the PATCH was answered, on the gateway's clock.
      expect(body.sendgrid.apiKey).toEqual({ set: true, setAt: expect.any(String) });
      const setAt = Date.parse(body.sendgrid.apiKey.setAt ?? "");
      expect(setAt).toBeGreaterThanOrEqual(before);
      expect(setAt).toBeLessThanOrEqual(gw.clock());
      expect(body.sendgrid.webhookPublicKey).toBe(keys.publicKey);

      const [row] = await databaseOf(gw)
        .select()
        .from(tenantSettings)
        .where(eq(tenantSettings.tenantId, tenantId));
      expect(row?.sendgridApiKeyCiphertext).toMatch(/^v1\./);
      expect(row?.sendgridApiKeyCiphertext).not.toContain("abcdefghijklmnop");
      // The raw database file holds no plaintext key either.
      const { readFileSync } = await import("node:fs");
      for (const file of [gw.dbPath, `${gw.dbPath}-wal`]) {
        let content = "";
        try {
          content = readFileSync(file).toString("latin1");
        } catch {}
        expect(content).not.toContain("abcdefghijklmnop");
      }
      expect(await tenantSendGridKey(services.deps, tenantId)).toBe(API_KEY);

      // Leaving it out keeps it; null removes it.
      await patchSettings(gw, key, { retention: { proofDays: 2000 } });
      expect(await tenantSendGridKey(services.deps, tenantId)).toBe(API_KEY);
      await patchSettings(gw, key, { sendgrid: { apiKey: null } });
      expect(await tenantSendGridKey(services.deps, tenantId)).toBeNull();
      expect((await getSettings()).body.sendgrid.apiKey).toEqual({ set: false, setAt: null });
    });

    it("a sealed key copied to another tenant does not open there", async () => {
      await patchSettings(gw, key, { sendgrid: { apiKey: API_KEY } });
      const other = await createTenantWithTopics(gw, { name: "Other" });
      await patchSettings(gw, other.key, { sendgrid: { apiKey: "SG.other.key" } });
      const [mine] = await databaseOf(gw)
        .select()
        .from(tenantSettings)
        .where(eq(tenantSettings.tenantId, tenantId));
      await databaseOf(gw)
        .update(tenantSettings)
        .set({ sendgridApiKeyCiphertext: mine?.sendgridApiKeyCiphertext ?? null })
        .where(eq(tenantSettings.tenantId, other.tenantId));
      await expect(tenantSendGridKey(services.deps, other.tenantId)).rejects.toThrow();
    });

    it("merges the mappings (null removes a key) and refuses unknown topics", async () => {
      await patchSettings(gw, key, {
        sendgrid: {
          asmGroups: { "42": "tips", "43": "deals-lenses" },
          categories: { newsletter: "tips" },
        },
      });
      await patchSettings(gw, key, { sendgrid: { asmGroups: { "43": null, "44": "invoices" } } });
      let { body } = await getSettings();
      expect(body.sendgrid.asmGroups).toEqual({ "42": "tips", "44": "invoices" });
      expect(body.sendgrid.categories).toEqual({ newsletter: "tips" });

      const res = await gw.request("/v1/settings", {
        method: "PATCH",
        key,
        json: { sendgrid: { asmGroups: { "45": "no-such-topic" }, categories: { "a/b": "nope" } } },
      });
      const problem = await expectProblem(res, 422, "unknown-topic");
      expect(problem.errors?.map((e) => e.pointer)).toEqual([
        "/sendgrid/asmGroups/45",
        "/sendgrid/categories/a~1b",
      ]);
      // Nothing of a refused patch is kept.
      ({ body } = await getSettings());
      expect(body.sendgrid.asmGroups).toEqual({ "42": "tips", "44": "invoices" });

      await expectProblem(
        await gw.request("/v1/settings", {
          method: "PATCH",
          key,
          json: { sendgrid: { asmGroups: { "not-a-number": "tips" } } },
        }),
        400,
        "invalid-request",
      );
      await patchSettings(gw, key, { sendgrid: { categories: null } });
      expect((await getSettings()).body.sendgrid.categories).toEqual({});
    });

    it("refuses a webhook key that is no P-256 public key", async () => {
      const res = await gw.request("/v1/settings", {
        method: "PATCH",
        key,
        json: { sendgrid: { webhookPublicKey: "bm90IGEga2V5" } },
      });
      const problem = await expectProblem(res, 400, "invalid-request");
      expect(problem.errors?.[0]?.pointer).toBe("/sendgrid/webhookPublicKey");
    });

    it("retention may only tighten the law", async () => {
      await patchSettings(gw, key, {
        retention: { proofDays: 1500, consentLifetimeMonths: 12, softOptInMonths: 6 },
      });
      const [row] = await databaseOf(gw).select().from(tenants).where(eq(tenants.id, tenantId));
      expect(row).toMatchObject({
        proofRetentionDays: 1500,
        consentLifetimeMonths: 12,
        softOptInMonths: 6,
      });
      expect((await getSettings()).body.retention).toEqual({
        proofDays: 1500,
        consentLifetimeMonths: 12,
        softOptInMonths: 6,
      });
      for (const retention of [
        { consentLifetimeMonths: 25 },
        { consentLifetimeMonths: 0 },
        { softOptInMonths: 36 },
        { proofDays: 0 },
        { proofDays: 1.5 },
      ]) {
        await expectProblem(
          await gw.request("/v1/settings", { method: "PATCH", key, json: { retention } }),
          400,
          "invalid-request",
        );
      }
      // null: back to the law's limit.
      await patchSettings(gw, key, { retention: { consentLifetimeMonths: null } });
      expect((await getSettings()).body.retention.consentLifetimeMonths).toBeNull();
    });

    it("needs the admin scope, and shows only the caller's tenant", async () => {
      const sender = await createKey(gw, key, ["send", "evidence:write", "compliance:read"]);
      await expectProblem(await gw.request("/v1/settings", { key: sender }), 403, "forbidden");
      await expectProblem(
        await gw.request("/v1/settings", { method: "PATCH", key: sender, json: {} }),
        403,
        "forbidden",
      );
      await expectProblem(await gw.request("/v1/settings"), 401, "unauthenticated");
      const other = await createTenantWithTopics(gw, { name: "Third" });
      const { body } = await getSettings(other.key);
      expect(body.sendgrid.asmGroups).toEqual({});
      expect(body.sendgrid.webhookUrl).toContain(other.tenantId);
    });

    it("refuses unknown fields", async () => {
      await expectProblem(
        await gw.request("/v1/settings", {
          method: "PATCH",
          key,
          json: { sendgrid: { apiKeySet: true } },
        }),
        400,
        "invalid-request",
      );
    });
  });

  describe("the OpenAPI document", () => {
    it("documents the settings and the webhook as the contract names them", async () => {
      const doc = (await (await gw.request("/openapi.json")).json()) as {
        paths: Record<
          string,
          Record<
            string,
            {
              security?: unknown;
              parameters?: { in: string; name: string }[];
              requestBody?: {
                content: Record<
                  string,
                  {
                    schema: {
                      properties?: Record<string, { properties?: Record<string, unknown> }>;
                    };
                  }
                >;
              };
            }
          >
        >;
      };
      const settings = doc.paths["/v1/settings"];
      expect(settings?.get?.security).toEqual([{ bearer: [] }]);
      const patch = settings?.patch?.requestBody?.content["application/json"]?.schema;
      expect(Object.keys(patch?.properties ?? {})).toEqual(["webhooks", "sendgrid", "retention"]);
      expect(Object.keys(patch?.properties?.sendgrid?.properties ?? {})).toEqual([
        "apiKey",
        "webhookPublicKey",
        "asmGroups",
        "categories",
      ]);
      expect(Object.keys(patch?.properties?.retention?.properties ?? {})).toEqual([
        "proofDays",
        "consentLifetimeMonths",
        "softOptInMonths",
      ]);
      const webhook = doc.paths["/webhooks/sendgrid/{tenant}"]?.post;
      expect(webhook).toBeDefined();
      expect(webhook?.security).toBeUndefined();
      expect(webhook?.parameters).toContainEqual(
        expect.objectContaining({ in: "path", name: "tenant" }),
      );
    });
  });
});
