/**
 * A recipient never waits for a send (docs/design.md §7, issue #16 item 3): one-click unsubscribe
 * latency (RFC 8058 POST /u/{token}) against a real gateway process on loopback, idle and while
 * back-to-back 10,000-recipient sends run (decided, proven, and handed to the local outbox by
 * the delivery worker in the same process). The load client is open-loop at a fixed rate with
 * a bound on requests in flight (what exceeds it is counted, not queued), so a stalled gateway
 * shows as latency and drops rather than as a slower client.
 * Target: p99 during sends ≤ 3× idle p99 and ≤ 50 ms.
 * Run alone with `npx tsx bench/unsubscribe-latency.ts`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfig } from "../src/config.js";
import { evidence, subjects } from "../src/db/schema.js";
import { normaliseAddress } from "../src/domain/address.js";
import { signUnsubscribeToken, unsubscribeTokenKey } from "../src/domain/unsubscribe-token.js";
import { createNodeGateway } from "../src/entry/node-gateway.js";
import { subjectKeyOf } from "../src/services/deps.js";
import { newEvidence } from "../src/services/evidence/rows.js";
import { BENCH_TENANT } from "./support/gateway.js";

const SECRET = "bench-secret-0123456789-0123456789-0123456789";
const OPERATOR = "bench-operator-token-0123456789";
const N = 10_000;
const RATE_PER_SECOND = 100;
const MAX_IN_FLIGHT = 32;
const IDLE_SECONDS = 10;
const DURING_SECONDS = 20;

const dir = mkdtempSync(join(tmpdir(), "grounds-bench-unsubscribe-"));
const databaseUrl = `file:${join(dir, "bench.db")}`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

async function startGateway(port: number): Promise<ChildProcess> {
  const child = spawn("node_modules/.bin/node", ["--import", "tsx", "src/entry/node.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGKILL");
  throw new Error("the gateway did not start");
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Fires one-click POSTs at a fixed rate for `seconds`; answers the latencies (ms) and drops. */
async function load(base: string, tokens: () => string, seconds: number) {
  const latencies: number[] = [];
  let inFlight = 0;
  let dropped = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  const end = performance.now() + seconds * 1000;
  const interval = 1000 / RATE_PER_SECOND;
  let next = performance.now();
  while (performance.now() < end) {
    if (inFlight >= MAX_IN_FLIGHT) {
      dropped += 1;
    } else {
      inFlight += 1;
      const start = performance.now();
      pending.push(
        fetch(`${base}/u/${tokens()}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "List-Unsubscribe=One-Click",
        })
          .then(async (res) => {
            await res.arrayBuffer();
            if (res.status !== 200) failed += 1;
            latencies.push(performance.now() - start);
          })
          .catch(() => {
            failed += 1;
          })
          .finally(() => {
            inFlight -= 1;
          }),
      );
    }
    next += interval;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  await Promise.all(pending);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    dropped,
    failed,
  };
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const gateway = await startGateway(port);
try {
  const post = async (path: string, key: string, json: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(json),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const created = (await post("/v1/tenants", OPERATOR, BENCH_TENANT)) as {
    tenant: { id: string };
    adminKey: { key: string };
  };
  const tenantId = created.tenant.id;
  const key = created.adminKey.key;
  await post("/v1/topics", key, {
    id: "tips",
    name: "Tips",
    class: "marketing",
    categories: ["a"],
  });

  // Consents for the send's recipients, written straight into the file (a second handle).
  const seeder = await createNodeGateway(
    readConfig({
      DATABASE_URL: databaseUrl,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR,
    }),
  );
  const { deps } = seeder;
  const now = Date.now();
  const email = (i: number) => `reader${i}@bench.example`;
  const subjectRows = [];
  const evidenceRows = [];
  for (let i = 0; i < N; i++) {
    const subject = {
      tenantId,
      subjectKey: subjectKeyOf(deps, tenantId, normaliseAddress(email(i))),
      email: email(i),
    };
    subjectRows.push({ ...subject, createdAt: now, updatedAt: now });
    evidenceRows.push(
      newEvidence(deps, subject, {
        kind: "consent-granted",
        topic: "tips",
        at: now - 60 * 86_400_000,
        data: { method: "web-form", confirmedAt: null },
      }),
    );
  }
  for (let i = 0; i < subjectRows.length; i += 500)
    await deps.db.insert(subjects).values(subjectRows.slice(i, i + 500));
  for (let i = 0; i < evidenceRows.length; i += 500)
    await deps.db.insert(evidence).values(evidenceRows.slice(i, i + 500));
  seeder.close();

  // One-click tokens of people not in the sends (each used at most 5 times: the per-token limit).
  const tokenKey = unsubscribeTokenKey(SECRET);
  let used = 0;
  const tokens = () => {
    const person = Math.floor(used / 5);
    used += 1;
    return signUnsubscribeToken(tokenKey, {
      tenantId,
      subjectKey: subjectKeyOf(deps, tenantId, `clicker${person}@bench.example`),
      topic: "tips",
      messageId: "msg_bench",
      issuedAt: now,
    });
  };

  const idle = await load(base, tokens, IDLE_SECONDS);

  // Back-to-back sends for as long as the load runs: the next asked for once the last answered.
  const sendBody = JSON.stringify({
    topic: "tips",
    from: { email: "news@bench.example", name: "Bench" },
    subject: "Hello",
    html: "<p>Hello</p>",
    recipients: Array.from({ length: N }, (_, i) => ({ email: email(i) })),
  });
  let sending = true;
  let sends = 0;
  const sender = (async () => {
    while (sending) {
      const res = await fetch(`${base}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: sendBody,
      });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`send: ${res.status}`);
      sends += 1;
    }
  })();
  const during = await load(base, tokens, DURING_SECONDS);
  sending = false;
  await sender;

  const show = (name: string, r: typeof idle) =>
    console.log(
      `${name}: ${r.count} one-click unsubscribes at ${RATE_PER_SECOND}/s — p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (${r.dropped} not sent: ${MAX_IN_FLIGHT} in flight; ${r.failed} not 200)`,
    );
  show("idle", idle);
  show(`during ${sends} back-to-back sends of ${N.toLocaleString("en")}`, during);
  const ratio = during.p99 / Math.max(idle.p99, 0.001);
  console.log(
    `p99 during / idle: ${ratio.toFixed(1)}× (target ≤ 3×) and ${during.p99.toFixed(1)} ms (target ≤ 50 ms): ${ratio <= 3 && during.p99 <= 50 ? "met" : "NOT met"}`,
  );
} finally {
  gateway.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
