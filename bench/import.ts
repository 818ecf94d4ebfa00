/**
 * Import speed: a Mailchimp-style audience export of 100,000 members,
 * received and processed through the import service into a temporary libSQL
 * file, as `POST /v1/imports` does. Prints rows per second and the process's
 * memory: peak RSS, and RSS sampled every 100 ms while processing (its
 * growth from the first to the last quarter of the run shows whether memory
 * stays flat with the row count, issue #8). The sampler is a worker thread:
 * processing rarely yields to this thread's timers.
 *
 *   npx tsx bench/import.ts [rows]        (or BENCH_IMPORT_ROWS=1000000)
 */

import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { defineTopic } from "../src/services/define-topic.js";
import { receiveImport } from "../src/services/imports/jobs.js";
import { processImport } from "../src/services/imports/process.js";
import { benchGateway, benchTenant } from "./support/gateway.js";

const ROWS = Number(process.argv[2] ?? process.env.BENCH_IMPORT_ROWS ?? 100_000);
const HEADER =
  '"Email Address","First Name","Last Name",EMAIL_TYPE,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS';

/** The file, made as it is read: it is never whole in memory. */
function audience(count: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i === 0) controller.enqueue(encoder.encode(`${HEADER}\n`));
      const lines: string[] = [];
      for (const end = Math.min(i + 1000, count); i < end; i++) {
        const day = String((i % 28) + 1).padStart(2, "0");
        const time = `2025-09-${day} ${String(i % 24).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}:00`;
        lines.push(
          `member.${i}@example.com,Jana,"Nováková, ml.",html,${i % 5},"${time}",89.102.${i % 256}.${i % 200},"${time}",89.102.${i % 256}.${i % 200},50.0755,14.4378,1,2,Europe/Prague,CZ,"Praha","${time}",${118_800_000 + i},e${i},,"""Newsletter"""\n`,
        );
      }
      if (lines.length > 0) controller.enqueue(encoder.encode(lines.join("")));
      if (i >= count) controller.close();
    },
  });
}

const MiB = 1024 * 1024;

/** Samples the process's RSS every 100 ms from a worker thread until stopped. */
function rssSampler(): { stop(): Promise<number[]> } {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
     const samples = [];
     const timer = setInterval(() => samples.push(process.memoryUsage.rss()), 100);
     parentPort.once("message", () => { clearInterval(timer); parentPort.postMessage(samples); });`,
    { eval: true },
  );
  return {
    async stop() {
      const answer = once(worker, "message");
      worker.postMessage("stop");
      const [samples] = (await answer) as [number[]];
      await worker.terminate();
      return samples;
    },
  };
}

/** Peak RSS, and the median RSS of the first and last quarters of processing. */
function memory(samples: readonly number[]): string {
  // maxRSS is in KiB.
  const peak = `peak RSS ${Math.round((process.resourceUsage().maxRSS * 1024) / MiB)} MiB`;
  const quarter = Math.floor(samples.length / 4);
  if (quarter === 0) return peak;
  const median = (part: readonly number[]) =>
    [...part].sort((a, b) => a - b)[Math.floor(part.length / 2)] ?? 0;
  const first = median(samples.slice(0, quarter));
  const last = median(samples.slice(-quarter));
  return (
    `${peak}; RSS while processing: first quarter ${Math.round(first / MiB)} MiB, ` +
    `last quarter ${Math.round(last / MiB)} MiB (${last >= first ? "+" : ""}${Math.round((last - first) / MiB)} MiB)`
  );
}

const gateway = await benchGateway("import");
try {
  const { deps } = gateway;
  const tenant = await benchTenant(deps);
  await defineTopic(deps, tenant.id, { id: "newsletter", name: "Newsletter", class: "marketing" });

  const started = performance.now();
  const { view } = await receiveImport(
    deps,
    tenant.id,
    { format: "mailchimp", options: { topics: ["newsletter"] } },
    audience(ROWS),
  );
  const received = performance.now();
  const sampler = rssSampler();
  let outcome: Awaited<ReturnType<typeof processImport>>;
  let samples: number[];
  try {
    outcome = await processImport(deps, view.id);
  } finally {
    samples = await sampler.stop();
  }
  const finished = performance.now();
  if (outcome !== "done") throw new Error(`the import ended ${outcome}`);

  const seconds = (finished - started) / 1000;
  const mib = view.bytes / 1024 / 1024;
  console.log(
    `import: ${ROWS.toLocaleString("en")} Mailchimp rows (${mib.toFixed(1)} MiB) in ${seconds.toFixed(1)} s: ` +
      `${Math.round(ROWS / seconds).toLocaleString("en")} rows/s ` +
      `(receive ${((received - started) / 1000).toFixed(1)} s, process ${((finished - received) / 1000).toFixed(1)} s)`,
  );
  console.log(`import: ${memory(samples)}`);
} finally {
  gateway.dispose();
}
