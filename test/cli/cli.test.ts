import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { runGrounds } from "../support/cli.js";
import { startHranaServer } from "../support/hrana-server.js";

/**
 * The CLI as users run it: `bin/grounds.js` in a process of its own, on the
 * project's Node. Each start costs about a second, so independent command
 * lines run side by side.
 */
const SECRET = "cli-test-secret-0123456789-0123456789-0123456789";

let dir: string;
let dbPath: string;
let env: Record<string, string>;
const grounds = (...args: string[]) => runGrounds(args, env);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "grounds-cli-"));
  dbPath = join(dir, "g.db");
  env = { DATABASE_URL: `file:${dbPath}`, GROUNDS_SECRET: SECRET };
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const TENANT = [
  ["--name", "Optika"],
  ["--legal-name", "Optika Praha s.r.o."],
  ["--address", "Vodičkova 1, 110 00 Praha 1"],
  ["--registration-id", "CZ12345678"],
  ["--contact-email", "privacy@optika.example"],
  ["--domain", "Optika.example"],
  ["--domain", "shop.optika.example"],
  ["--country", "cz"],
].flat();

describe("grounds CLI", () => {
  it("answers --version with the package's version, touching no database", async () => {
    const { version } = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    for (const r of await Promise.all([grounds("--version"), grounds("-V")])) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`grounds ${version}\n`);
    }
    expect(existsSync(dbPath)).toBe(false);
  });

  it("prints help for the whole and for each command, touching no database", async () => {
    const [overview, tenant, key, topic, migrate, group] = await Promise.all([
      grounds(),
      grounds("tenant", "create", "--help"),
      grounds("help", "key", "create"),
      grounds("topic", "add", "-h"),
      grounds("migrate", "--help"),
      grounds("tenant", "--help"),
    ]);
    for (const r of [overview, tenant, key, topic, migrate, group]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
    }
    for (const name of ["tenant create", "key create", "topic add", "migrate"]) {
      expect(overview.stdout).toContain(name);
    }
    expect(tenant.stdout).toMatch(/^Usage: grounds tenant create/);
    expect(tenant.stdout).toContain("--contact-email");
    expect(key.stdout).toMatch(/^Usage: grounds key create/);
    expect(key.stdout).toContain("evidence:write");
    expect(topic.stdout).toMatch(/^Usage: grounds topic add/);
    expect(migrate.stdout).toMatch(/^Usage: grounds migrate/);
    expect(group.stdout).toContain("tenant create");
    expect(existsSync(dbPath)).toBe(false);
  });

  it("answers usage errors with exit 2, naming options but never values", async () => {
    const results = await Promise.all([
      grounds("frobnicate"),
      grounds("tenant"),
      grounds("tenant", "create", "--nmae", "Optika"),
      grounds("tenant", "create", "--name", "Optika"),
      // An unquoted address: the stray word is personal data.
      grounds("tenant", "create", ...TENANT, "--address", "Novákova", "12"),
      grounds("key", "create", "--scope", "send"),
      grounds("topic", "add", "--tenant", "ten_x", "--name", "--id", "tips"),
    ]);
    const [unknown, group, typo, missing, stray, noTenant, noValue] = results;
    for (const r of results) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/--help/);
    }
    expect(unknown?.stderr).toContain('unknown command "frobnicate"');
    expect(group?.stderr).toContain("grounds tenant create");
    expect(typo?.stderr).toContain("unknown option --nmae");
    expect(missing?.stderr).toContain(
      "missing --legal-name, --address, --registration-id, --contact-email, --domain, --country",
    );
    expect(stray?.stderr).toContain("unexpected argument");
    expect(stray?.stderr).not.toMatch(/Novák|12/);
    expect(noTenant?.stderr).toContain("missing --tenant");
    expect(noValue?.stderr).toContain("--name needs a value");
    expect(existsSync(dbPath)).toBe(false);
  });

  it("migrates a new database file", async () => {
    const migrated = await grounds("migrate");
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(
      /^Database file:.*g\.db is up to date: \d+ migrations? applied/,
    );
    expect(migrated.stderr).toBe("");
    expect(existsSync(dbPath)).toBe(true);
  });

  let tenantId = "";
  let adminKey = "";
  let sendKey = "";
  let secondAdminKey = "";

  it("creates a tenant: its id and admin key once, and the new operator token once", {
    timeout: 60_000,
  }, async () => {
    const first = await grounds("tenant", "create", ...TENANT);
    expect(first.code, first.stderr).toBe(0);
    const id = /Tenant created: (ten_[0-9a-f]{32}) \(CZ, mode jurisdictional\)/.exec(first.stdout);
    const key = /^ {2}(grk_\S+)$/m.exec(first.stdout);
    expect(id).not.toBeNull();
    expect(key).not.toBeNull();
    tenantId = id?.[1] ?? "";
    adminKey = key?.[1] ?? "";
    // The first command to open the gateway mints the operator token: shown now or never.
    expect(first.stderr).toMatch(/GROUNDS_OPERATOR_TOKEN=gro_\S+/);
    expect(first.stdout).not.toContain("privacy@optika.example");

    const second = await grounds("tenant", "create", ...TENANT, "--mode", "strict", "--json");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe("");
    const body = JSON.parse(second.stdout);
    expect(body).toEqual({
      tenant: {
        id: expect.stringMatching(/^ten_/),
        name: "Optika",
        legalName: "Optika Praha s.r.o.",
        address: "Vodičkova 1, 110 00 Praha 1",
        registrationId: "CZ12345678",
        contactEmail: "privacy@optika.example",
        domains: ["optika.example", "shop.optika.example"],
        country: "CZ",
        mode: "strict",
        createdAt: expect.any(String),
      },
      adminKey: {
        id: expect.stringMatching(/^key_/),
        key: expect.stringMatching(/^grk_/),
        scopes: ["admin"],
        name: "admin",
        createdAt: expect.any(String),
        expiresAt: null,
      },
    });
    expect(body.tenant.id).not.toBe(tenantId);
  });

  it("creates keys and defines topics for the tenant", { timeout: 60_000 }, async () => {
    const [send, admin, tips, invoices] = await Promise.all([
      grounds(
        ...["key", "create", "--tenant", tenantId, "--scope", "send"],
        "--scope",
        "evidence:write",
      ),
      grounds("key", "create", "--tenant", tenantId, "--scope", "admin", "--name", "ops", "--json"),
      grounds(
        ...["topic", "add", "--tenant", tenantId, "--id", "tips", "--name", "Tips"],
        ...["--class", "marketing", "--category", "accessories", "--json"],
      ),
      grounds(
        ...["topic", "add", "--tenant", tenantId, "--id", "invoices", "--name", "Invoices"],
        ...["--class", "service", "--service-basis", "legal-obligation"],
      ),
    ]);
    expect(send.code, send.stderr).toBe(0);
    expect(send.stdout).toMatch(
      /^Key created: key_\S+ for tenant ten_\S+ \(scopes: send, evidence:write\)/,
    );
    sendKey = /^ {2}(grk_\S+)$/m.exec(send.stdout)?.[1] ?? "";
    expect(sendKey).not.toBe("");

    expect(admin.code, admin.stderr).toBe(0);
    const created = JSON.parse(admin.stdout);
    expect(created).toEqual({
      id: expect.stringMatching(/^key_/),
      key: expect.stringMatching(/^grk_/),
      scopes: ["admin"],
      name: "ops",
      createdAt: expect.any(String),
      expiresAt: null,
    });
    secondAdminKey = created.key;

    expect(tips.code, tips.stderr).toBe(0);
    expect(JSON.parse(tips.stdout)).toEqual({
      id: "tips",
      name: "Tips",
      description: "",
      class: "marketing",
      categories: ["accessories"],
      serviceBasis: null,
      translations: {},
    });

    expect(invoices.code, invoices.stderr).toBe(0);
    expect(invoices.stdout).toBe(
      `Topic added: invoices for tenant ${tenantId} (service; sent on legal-obligation)\n`,
    );
  });

  it("refuses invalid input with exit 1, saying why without echoing it", {
    timeout: 60_000,
  }, async () => {
    const results = await Promise.all([
      grounds(
        ...["tenant", "create", "--name", "Jan Novák", "--legal-name", "Jan Novák"],
        ...["--address", "Novákova 12", "--registration-id", "1"],
        ...["--contact-email", "jan.novak(at)example", "--domain", "novak_family"],
        ...["--country", "CZE", "--mode", "lenient"],
      ),
      grounds("key", "create", "--tenant", tenantId, "--scope", "sned"),
      grounds(
        ...["key", "create", "--tenant", "ten_00000000000000000000000000000000"],
        "--scope",
        "send",
      ),
      grounds(
        "topic",
        "add",
        "--tenant",
        tenantId,
        "--id",
        "Tips!",
        "--name",
        "x",
        "--class",
        "ad",
      ),
      // A topic is never redefined.
      grounds(
        ...["topic", "add", "--tenant", tenantId, "--id", "tips", "--name", "Tips again"],
        ...["--class", "marketing"],
      ),
    ]);
    const [tenant, scope, noTenant, topic, again] = results;
    for (const r of results) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe("");
    }
    expect(tenant?.stderr).toContain("--contact-email: must be an e-mail address");
    expect(tenant?.stderr).toContain("--domain (value 1): must be a domain name");
    expect(tenant?.stderr).toContain("--country: must be an ISO 3166-1 alpha-2 country code");
    expect(tenant?.stderr).toContain("--mode: must be one of jurisdictional, strict");
    expect(tenant?.stderr).not.toMatch(/Novák|jan\.novak|novak_family|CZE|lenient/i);
    expect(scope?.stderr).toContain(
      "--scope (value 1): must be one of send, evidence:write, compliance:read, admin",
    );
    expect(scope?.stderr).not.toContain("sned");
    expect(noTenant?.stderr).toContain("No such tenant");
    expect(topic?.stderr).toContain("--id:");
    expect(topic?.stderr).toContain("--class: must be one of marketing, service");
    expect(again?.stderr).toContain("A topic with this id exists");
  });

  it("made keys that the HTTP API accepts, on the same database", async () => {
    const gateway = await createNodeGateway(
      readConfig({
        DATABASE_URL: `file:${dbPath}`,
        GROUNDS_SECRET: SECRET,
        GROUNDS_OPERATOR_TOKEN: "x".repeat(20),
      }),
    );
    try {
      const get = (path: string, key: string) =>
        gateway.app.fetch(
          new Request(`http://t${path}`, { headers: { authorization: `Bearer ${key}` } }),
        );
      for (const key of [adminKey, secondAdminKey]) {
        const listed = await get("/v1/topics", key);
        expect(listed.status).toBe(200);
        const { topics } = (await listed.json()) as { topics: { id: string }[] };
        expect(topics.map((t) => t.id)).toEqual(["invoices", "tips"]);
      }
      // A send key may ask for decisions but not manage topics.
      expect((await get("/v1/topics", sendKey)).status).toBe(403);
      const decision = await get(
        `/v1/subjects/${encodeURIComponent("anna@example.com")}/decision?topic=tips`,
        sendKey,
      );
      expect(decision.status).toBe(200);
      expect((await get("/v1/topics", "grk_not-a-key")).status).toBe(401);
    } finally {
      gateway.close();
    }
  });
});

describe("grounds migrate on a remote libSQL database", () => {
  it("applies the migrations over HTTP, with DATABASE_AUTH_TOKEN and no secrets", async () => {
    const remoteDir = mkdtempSync(join(tmpdir(), "grounds-cli-remote-"));
    const server = await startHranaServer({ dbPath: join(remoteDir, "remote.db") });
    try {
      const token = "remote-auth-token-not-to-be-printed";
      const migrated = await runGrounds(["migrate"], {
        DATABASE_URL: `${server.url}?authToken=${token}`,
        DATABASE_AUTH_TOKEN: token,
      });
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(migrated.stdout).toMatch(/^Database http:\/\/127\.0\.0\.1:\d+ is up to date/);
      expect(migrated.stdout + migrated.stderr).not.toContain(token);
      const client = createClient({ url: server.url });
      try {
        const tables = await client.execute(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('tenants', 'api_keys', 'topics')",
        );
        expect(tables.rows.map((row) => row.name).sort()).toEqual([
          "api_keys",
          "tenants",
          "topics",
        ]);
      } finally {
        client.close();
      }
    } finally {
      await server.close();
      rmSync(remoteDir, { recursive: true, force: true });
    }
  });
});
