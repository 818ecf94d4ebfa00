/**
 * CPU time per 1,000-recipient chunk of a large send, measured in workerd (issue #7), with the
 * Node figure beside it. Run alone with `npx tsx bench/worker-chunk.ts`.
 *
 * workerd: the Worker bundle runs in local workerd (the test harness, test/support/worker.ts),
 * its database a real libSQL file behind the test Hrana server in this process, its provider the
 * SendGrid-like test server in this process. A 10,000-recipient send is proven in the request,
 * then delivered by the Worker's own queue consumer, one chunk (1,000 recipients) per
 * invocation. Local workerd's clocks only advance on I/O, so the CPU time is read from outside:
 * the workerd process's time on CPU, summed over its threads from /proc/<pid>/task/<tid>/schedstat
 * (ns), cross-checked with utime + stime of /proc/<pid>/stat (clock ticks). The database engine
 * and the provider run in this process, so workerd's figure is the Worker's own work plus the
 * runtime's (HTTP, the queue): an upper bound of what Cloudflare bills, after subtracting what
 * workerd burns idle over the same wall time.
 *
 * Node: the same send on the Node gateway, its chunks captured instead of delivered, then each
 * handed to the queue consumer's handler (`deliverQueuedChunk`) with `process.cpuUsage()` around
 * it. That includes the embedded libSQL engine and the SendGrid-like server, which run in the
 * same process: an upper bound too, not the Worker's figure.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { eq } from "drizzle-orm";
import { readConfig } from "../src/config.js";
import { deliveryChunks, messages } from "../src/db/schema.js";
import { createNodeGateway } from "../src/entry/node-gateway.js";
import type { Deps } from "../src/services/deps.js";
import { type ChunkJob, deliverQueuedChunk } from "../src/services/messages/queued-chunks.js";
import { sendMessage } from "../src/services/messages/send-message.js";
import { loadTenant } from "../src/services/tenant.js";
import { consentData, seedEvidence } from "../test/messages/seed.js";
import { databaseOf } from "../test/support/database.js";
import { createTenantWithTopics, OPERATOR_TOKEN, SECRET } from "../test/support/gateway.js";
import { gatewayRequest } from "../test/support/gateway-under-test.js";
import { startSendGridServer } from "../test/support/sendgrid-server.js";
import { startTestWorker } from "../test/support/worker.js";

const N = 10_000;
const CHUNK = 1_000;
const CHUNKS = N / CHUNK;
const email = (i: number) => `reader${i}@bench.example`;

/** Everyone consented to `tips` a month ago: every recipient is sent, every chunk full. */
function seedConsents(deps: Deps, tenantId: string) {
  const at = deps.clock() - 30 * 86_400_000;
  return seedEvidence(
    { deps, clock: deps.clock },
    tenantId,
    Array.from({ length: N }, (_, i) => ({
      email: email(i),
      kind: "consent-granted" as const,
      topic: "tips",
      at,
      data: consentData,
    })),
  );
}

function sendRequest() {
  return {
    topic: "tips",
    from: { email: "news@optika.example", name: "Optika" },
    subject: "Hello {{recipient.name}}",
    html: "<p>Hello {{recipient.name}}</p>",
    recipients: Array.from({ length: N }, (_, i) => ({ email: email(i), name: `Reader ${i}` })),
  };
}

/** Every process under `root` (children, grandchildren, …), with its command name. */
function descendants(root: number): { pid: number; comm: string }[] {
  const children = new Map<number, { pid: number; comm: string }[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push({ pid: Number(entry), comm });
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: { pid: number; comm: string }[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child.pid);
    }
  };
  walk(root);
  return found;
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** A process's CPU time in ms: over its live threads (schedstat, ns), and utime + stime (ticks). */
function cpuOf(pid: number): { schedMs: number; statMs: number } {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended while we looked.
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { schedMs: ns / 1e6, statMs: (ticks * 1000) / CLK_TCK };
}

const fmt = (ms: number) => ms.toFixed(1);

async function measureWorkerd() {
  const dir = mkdtempSync(join(tmpdir(), "grounds-bench-worker-chunk-"));
  const sendgrid = await startSendGridServer();
  const dbPath = join(dir, "grounds.db");
  const worker = await startTestWorker({
    dbPath,
    vars: { SENDGRID_API_KEY: sendgrid.apiKey, SENDGRID_API_URL: sendgrid.url },
  });
  const node = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${dbPath}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    }),
  );
  try {
    // Two workerd processes: wrangler's dev proxy (in front of the Worker, HTTP only) and the
    // Worker's own runtime. Both are measured; the one that works while the queue consumer
    // delivers (no HTTP then) is the Worker's.
    const pids = descendants(process.pid)
      .filter((p) => p.comm === "workerd")
      .map((p) => p.pid);
    if (pids.length === 0) throw new Error("found no workerd under this process");
    const cpuAll = () => new Map(pids.map((pid) => [pid, cpuOf(pid)]));
    const sched = (m: Map<number, { schedMs: number }>, pid: number) => m.get(pid)?.schedMs ?? 0;

    const { tenantId, key } = await createTenantWithTopics(worker);
    await seedConsents(node.deps, tenantId);
    // Warm the isolate's paths once (a small send) so the chunks measure work, not first use.
    const warmed = await worker.request("/v1/messages", {
      method: "POST",
      key,
      json: { ...sendRequest(), recipients: [{ email: email(0) }] },
    });
    if (warmed.status !== 200) throw new Error(`warm-up send: ${await warmed.text()}`);
    const handedBefore = sendgrid.requests.reduce((n, r) => n + r.body.personalizations.length, 0);

    // What workerd burns doing nothing, per second of wall time.
    const idleWallMs = 3_000;
    const idleStart = cpuAll();
    await sleep(idleWallMs);
    const idleEnd = cpuAll();
    const idlePerMs = (pid: number) => (sched(idleEnd, pid) - sched(idleStart, pid)) / idleWallMs;

    const db = databaseOf({ dbPath });
    const beforeSend = cpuAll();
    const sendStarted = performance.now();
    const res = await worker.request("/v1/messages", { method: "POST", key, json: sendRequest() });
    const answeredAt = performance.now();
    const atAnswer = cpuAll();
    const text = await res.text();
    if (res.status !== 200) throw new Error(`send: ${res.status} ${text}`);
    const { messageId, status } = JSON.parse(text) as { messageId: string; status: string };
    if (status !== "sending") throw new Error(`expected the queue to deliver, got ${status}`);

    // Poll the chunks; at each one finished, note workerd's CPU time.
    const marks: { at: number; cpu: typeof atAnswer; done: number }[] = [
      { at: answeredAt, cpu: atAnswer, done: 0 },
    ];
    const deadline = Date.now() + 180_000;
    let done = 0;
    while (done < CHUNKS) {
      if (Date.now() > deadline) throw new Error(`only ${done} of ${CHUNKS} chunks in 3 minutes`);
      await sleep(10);
      const cpu = cpuAll();
      const rows = await db
        .select({ status: deliveryChunks.status })
        .from(deliveryChunks)
        .where(eq(deliveryChunks.messageId, messageId));
      let finished = rows.filter((r) => r.status !== "queued" && r.status !== "handing").length;
      if (finished === CHUNKS) {
        // The last chunk's work ends when its consumer has settled the message.
        const row = await db.query.messages.findFirst({ where: eq(messages.id, messageId) });
        if (row?.status === "sending") finished -= 1;
      }
      if (finished > done) {
        done = finished;
        marks.push({ at: performance.now(), cpu, done });
      }
    }
    const last = marks.at(-1) as (typeof marks)[0];
    const afterChunks = cpuAll();
    const chunkCpu = (pid: number) => sched(last.cpu, pid) - sched(atAnswer, pid);
    const pid = [...pids].sort((x, y) => chunkCpu(y) - chunkCpu(x))[0] as number;
    const proxies = pids.filter((p) => p !== pid);
    const message = await db.query.messages.findFirst({ where: eq(messages.id, messageId) });
    const accepted =
      sendgrid.requests.reduce((n, r) => n + r.body.personalizations.length, 0) - handedBefore;

    const net = (cpu: number, wallMs: number) => cpu - idlePerMs(pid) * wallMs;
    const totalChunksMs = net(chunkCpu(pid), last.at - answeredAt);
    // Per chunk, from one finished chunk to the next (exact when chunks run one at a time).
    const perChunk: number[] = [];
    for (let i = 1; i < marks.length; i++) {
      const [a, b] = [marks[i - 1], marks[i]] as [(typeof marks)[0], (typeof marks)[0]];
      const each = net(sched(b.cpu, pid) - sched(a.cpu, pid), b.at - a.at) / (b.done - a.done);
      for (let k = a.done; k < b.done; k++) perChunk.push(each);
    }
    const requestMs = net(sched(atAnswer, pid) - sched(beforeSend, pid), answeredAt - sendStarted);
    const proxyMs = (from: typeof atAnswer, to: typeof atAnswer) =>
      proxies.reduce((sum, p) => sum + sched(to, p) - sched(from, p), 0);
    return {
      pid,
      idlePerSecond: idlePerMs(pid) * 1000,
      requestMs,
      proxyRequestMs: proxyMs(beforeSend, atAnswer),
      proxyChunksMs: proxyMs(atAnswer, last.cpu),
      totalChunksMs,
      statTotalMs: (afterChunks.get(pid)?.statMs ?? 0) - (atAnswer.get(pid)?.statMs ?? 0),
      perChunk,
      wallMs: last.at - answeredAt,
      messageStatus: message?.status,
      accepted,
      steps: marks.length - 1,
    };
  } finally {
    node.close();
    await worker.stop();
    await sendgrid.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureNode() {
  const dir = mkdtempSync(join(tmpdir(), "grounds-bench-node-chunk-"));
  const sendgrid = await startSendGridServer();
  const gateway = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${join(dir, "grounds.db")}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_API_URL: sendgrid.url,
    }),
  );
  try {
    const { deps } = gateway;
    const { tenantId } = await createTenantWithTopics({
      request: async (path, init) =>
        gateway.app.fetch(gatewayRequest("http://grounds.test", path, init)),
    });
    await seedConsents(deps, tenantId);
    // The chunks go to a queue of our own, handed to the consumer's handler one by one below.
    const jobs: ChunkJob[] = [];
    deps.enqueueChunks = async (tenantId, messageId, chunks) => {
      for (const chunk of chunks) jobs.push({ tenantId, messageId, chunk });
    };
    const tenantRow = await loadTenant(deps, tenantId);
    await sendMessage(deps, tenantRow, sendRequest());
    const perChunk: number[] = [];
    for (const job of jobs) {
      const before = process.cpuUsage();
      await deliverQueuedChunk(deps, job);
      const used = process.cpuUsage(before);
      perChunk.push((used.user + used.system) / 1000);
    }
    const accepted = sendgrid.requests.reduce((n, r) => n + r.body.personalizations.length, 0);
    return { perChunk, accepted };
  } finally {
    gateway.close();
    await sendgrid.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const stats = (values: number[]) => ({
  mean: values.reduce((a, b) => a + b, 0) / values.length,
  max: Math.max(...values),
  min: Math.min(...values),
});

const workerd = await measureWorkerd();
const w = stats(workerd.perChunk);
console.log(
  `workerd (pid ${workerd.pid}): ${N.toLocaleString("en")} recipients, ${CHUNKS} chunks of ` +
    `${CHUNK.toLocaleString("en")} through the queue in ${(workerd.wallMs / 1000).toFixed(1)} s ` +
    `(message ${workerd.messageStatus}, ${workerd.accepted.toLocaleString("en")} handed to the provider)`,
);
console.log(
  `  CPU per 1,000-recipient chunk: ${fmt(workerd.totalChunksMs / CHUNKS)} ms (total / ${CHUNKS}); ` +
    `per chunk mean ${fmt(w.mean)}, min ${fmt(w.min)}, max ${fmt(w.max)} ms ` +
    `(${workerd.steps} steps observed; idle ${fmt(workerd.idlePerSecond)} ms/s subtracted)`,
);
console.log(
  `  cross-check, utime+stime (${CLK_TCK} Hz, idle not subtracted): ` +
    `${fmt(workerd.statTotalMs / CHUNKS)} ms per chunk; ` +
    `the proving request itself (decide + prove ${N.toLocaleString("en")}): ${fmt(workerd.requestMs)} ms`,
);
console.log(
  `  wrangler's dev proxy (the other workerd, not the Worker): ${fmt(workerd.proxyRequestMs)} ms ` +
    `during the request, ${fmt(workerd.proxyChunksMs)} ms during all ${CHUNKS} chunks`,
);
const node = await measureNode();
const n = stats(node.perChunk);
console.log(
  `node: CPU per 1,000-recipient chunk (process.cpuUsage around deliverQueuedChunk, ` +
    `libSQL engine and provider stand-in included): mean ${fmt(n.mean)}, min ${fmt(n.min)}, ` +
    `max ${fmt(n.max)} ms (${node.accepted.toLocaleString("en")} handed to the provider)`,
);
