import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { deliveryChunks, justifications } from "../../src/db/schema.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { type SendGridServer, startSendGridServer } from "../support/sendgrid-server.js";
import { consentData, seedEvidence } from "./seed.js";

/**
 * A kill of the gateway in the middle of a send leaves no message delivered
 * without its justification (docs/design.md §6), and after a restart nothing is
 * delivered twice: a chunk caught while being handed over becomes `unknown`,
 * the chunks never handed over are delivered.
 */

const SECRET = "crash-secret-0123456789-0123456789-0123456789";
const OPERATOR = "crash-operator-token-0123456789";
const N = 4000; // four chunks of 1,000
const DELAY_MS = 700;

let dir: string;
let sendgrid: SendGridServer;
let slowProxy: Server;
let proxyUrl: string;

/** Starts the real gateway process (node src/entry/node.ts) and waits until it answers. */
async function startProcess(port: number): Promise<ChildProcess> {
  const child = spawn("node_modules/.bin/node", ["--import", "tsx", "src/entry/node.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      DATABASE_URL: `file:${join(dir, "g.db")}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR,
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_API_URL: proxyUrl,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return child;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`the gateway did not start: ${output}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grounds-crash-"));
  sendgrid = await startSendGridServer();
  // A slow network in front of the SendGrid stand-in: each call takes long
  // enough for the process to be killed in the middle of a send.
  slowProxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      setTimeout(() => {
        const target = new URL(req.url ?? "/", sendgrid.url);
        const forward = httpRequest(
          target,
          { method: req.method, headers: req.headers },
          (upstream) => {
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            upstream.pipe(res);
          },
        );
        forward.on("error", () => res.destroy());
        forward.end(Buffer.concat(chunks));
      }, DELAY_MS);
    });
  });
  await new Promise<void>((r) => slowProxy.listen(0, "127.0.0.1", () => r()));
  proxyUrl = `http://127.0.0.1:${(slowProxy.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => slowProxy.close(() => r()));
  await sendgrid.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a kill in the middle of a send", () => {
  it("leaves nothing delivered without its justification, and nothing delivered twice", async () => {
    const port = await freePort();
    let child = await startProcess(port);
    const base = `http://127.0.0.1:${port}`;
    const json = (body: unknown, key: string) => ({
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const tenantRes = await fetch(
      `${base}/v1/tenants`,
      json(
        {
          name: "Crash",
          legalName: "Crash s.r.o.",
          address: "Street 1, Praha",
          registrationId: "CZ00000001",
          contactEmail: "privacy@crash.example",
          domains: ["crash.example"],
          country: "CZ",
        },
        OPERATOR,
      ),
    );
    const { tenant, adminKey } = (await tenantRes.json()) as {
      tenant: { id: string };
      adminKey: { key: string };
    };
    await fetch(
      `${base}/v1/topics`,
      json({ id: "tips", name: "Tips", class: "marketing", categories: ["a"] }, adminKey.key),
    );

    // Seed consents for every recipient through a second handle on the file.
    const config = readConfig({
      DATABASE_URL: `file:${join(dir, "g.db")}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR,
    });
    const observer = await createNodeGateway(config);
    try {
      const email = (i: number) => `r${i}@crash.example`;
      await seedEvidence(
        { ...observer, clock: Date.now } as never,
        tenant.id,
        Array.from({ length: N }, (_, i) => ({
          email: email(i),
          kind: "consent-granted" as const,
          topic: "tips",
          at: Date.now() - 86_400_000,
          data: consentData,
        })),
      );

      const sending = fetch(
        `${base}/v1/messages`,
        json(
          {
            topic: "tips",
            from: { email: "news@crash.example" },
            subject: "Hello",
            text: "Hello.",
            recipients: Array.from({ length: N }, (_, i) => ({ email: email(i) })),
          },
          adminKey.key,
        ),
      ).catch(() => null);

      // Kill it while the second chunk is on its way to the provider.
      for (let i = 0; i < 200 && sendgrid.attempts.length < 1; i++)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, DELAY_MS + 200));
      child.kill("SIGKILL");
      await sending;

      const proven = new Set(
        (await observer.deps.db.select({ id: justifications.id }).from(justifications)).map(
          (r) => r.id,
        ),
      );
      const deliveredBeforeRestart = sendgrid.requests.flatMap((r) =>
        r.body.personalizations.map((p) => p.custom_args?.justification_id),
      );
      expect(deliveredBeforeRestart.length).toBeGreaterThan(0);
      expect(deliveredBeforeRestart.length).toBeLessThan(N);
      // Nothing was handed to the provider without its justification.
      for (const id of deliveredBeforeRestart) expect(proven.has(id ?? "")).toBe(true);

      // A restart finishes the send: the chunk caught mid-hand-over is
      // `unknown` (never re-sent), the queued ones are delivered.
      child = await startProcess(port);
      for (let i = 0; i < 300; i++) {
        const chunks = await observer.deps.db.select().from(deliveryChunks);
        if (chunks.every((c) => c.status !== "queued" && c.status !== "handing")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const chunks = await observer.deps.db.select().from(deliveryChunks);
      expect(chunks.every((c) => c.status === "accepted" || c.status === "unknown")).toBe(true);
      const delivered = sendgrid.requests.flatMap((r) =>
        r.body.personalizations.map((p) => p.custom_args?.justification_id),
      );
      expect(new Set(delivered).size).toBe(delivered.length);
      for (const id of delivered) expect(proven.has(id ?? "")).toBe(true);
      const unknown = await observer.deps.db
        .select()
        .from(justifications)
        .where(eq(justifications.status, "unknown"));
      const accepted = await observer.deps.db
        .select()
        .from(justifications)
        .where(eq(justifications.status, "accepted"));
      // Every recipient is accounted for: delivered once, or known to be in doubt.
      expect(accepted.length + unknown.length).toBe(N);
      expect(accepted.length).toBeLessThanOrEqual(delivered.length);
    } finally {
      child.kill("SIGKILL");
      observer.close();
    }
  }, 120_000);
});
