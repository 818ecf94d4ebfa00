import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importChunks, imports } from "../../src/db/schema.js";
import { receiveImport } from "../../src/services/imports/jobs.js";
import { processImport, resumeImports } from "../../src/services/imports/process.js";
import {
  anotherGatewayOn,
  createTenantWithTopics,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";
import {
  countEvidence,
  decisionFor,
  finished,
  getImport,
  importFile,
  postImport,
} from "./helpers.js";

/** Files of many rows: streamed in, stored in chunks, processed in batches, resumable. */
let gateway: TestGateway;
let key: string;
let tenantId: string;

const HEADER =
  '"Email Address","First Name","Last Name",EMAIL_TYPE,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,CC,LAST_CHANGED,NOTES';

/** A Mailchimp-style file of `count` members, made as it is read (never whole in memory). */
function audience(count: number, prefix: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i === 0) controller.enqueue(encoder.encode(`\uFEFF${HEADER}\r\n`));
      const lines: string[] = [];
      for (const end = Math.min(i + 997, count); i < end; i++) {
        const day = String((i % 28) + 1).padStart(2, "0");
        lines.push(
          `${prefix}.${i}@example.cz,Člen,"Číslo ${i}, Praha",html,${i % 5},"2025-08-${day} 10:${String(i % 60).padStart(2, "0")}:00",10.${i % 256}.1.2,"2025-08-${day} 11:00:00",10.${i % 256}.1.2,CZ,"2025-08-${day} 11:00:00","poznámka ""${i}""\r\nna dva řádky"\r\n`,
        );
      }
      if (lines.length > 0) controller.enqueue(encoder.encode(lines.join("")));
      if (i >= count) controller.close();
    },
  });
}

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gateway));
});

afterAll(async () => {
  await gateway.stop();
});

describe("a large file", () => {
  it("imports 20,000 members streamed in, and keeps none of the file afterwards", async () => {
    const job = await importFile(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      audience(20_000, "a"),
    );
    expect(job).toMatchObject({
      status: "done",
      processed: 20_000,
      imported: 20_000,
      rejectedCount: 0,
      progress: 1,
    });
    expect(job.bytes).toBeGreaterThan(3_000_000);
    const last = await decisionFor(gateway, key, "a.19999@example.cz", "tips");
    expect(last).toMatchObject({ decision: "send", basis: "consent" });
    expect(last.evidence[0]?.at).toBe("2025-08-08T10:19:00.000Z");
    // The stored text held addresses: it is gone once the job is done.
    expect(await gateway.deps.db.select().from(importChunks)).toEqual([]);
  });

  it("resumes after a restart where it stopped, without doing a row twice", async () => {
    const before = await countEvidence(gateway);
    const { view } = await receiveImport(
      gateway.deps,
      tenantId,
      { format: "mailchimp", options: { topics: ["tips"] } },
      audience(6_000, "b"),
    );
    // The process stops after its first batch (as a shutdown would stop it).
    const stop = new AbortController();
    const outcome = await processImport(gateway.deps, view.id, {
      signal: stop.signal,
      onProgress: () => stop.abort(),
    });
    expect(outcome).toBe("stopped");
    // Read from the file, not through GET /v1/imports/{id}: a look at a job
    // nobody holds takes it up again, and this test is about the restart.
    const [halfway] = await gateway.deps.db.select().from(imports).where(eq(imports.id, view.id));
    expect(halfway).toMatchObject({ status: "processing", processed: 2_000, imported: 2_000 });
    const progress = (halfway?.position ?? 0) / (halfway?.chars ?? 1);
    expect(progress).toBeGreaterThan(0);
    expect(progress).toBeLessThan(1);

    // A new gateway on the same database file takes it up on start.
    const restarted = await anotherGatewayOn(gateway);
    try {
      await resumeImports(restarted.deps);
    } finally {
      restarted.close();
    }
    const done = await getImport(gateway, key, view.id);
    expect(done).toMatchObject({ status: "done", processed: 6_000, imported: 6_000, skipped: 0 });
    expect((await countEvidence(gateway)) - before).toBe(6_000);
  });

  it("lets the API write while an import is being processed", async () => {
    const { id } = await postImport(
      gateway,
      key,
      "format=mailchimp&topics=tips",
      audience(20_000, "d"),
    );
    // Each write is answered while the job is still being processed: it does
    // not wait for the import (no interactive transaction holds the file).
    const answeredDuring: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await gateway.request("/v1/consents", {
        method: "POST",
        key,
        json: {
          email: `during.${i}@example.cz`,
          topics: ["tips"],
          action: "grant",
          collectedAt: "2026-11-01T10:00:00Z",
          source: { method: "web-form" },
          wording: { version: "v1", text: "Yes, send me tips." },
        },
      });
      expect(res.status).toBe(201);
      answeredDuring.push((await getImport(gateway, key, id)).status !== "done");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await finished(gateway, key, id)).imported).toBe(20_000);
    expect(answeredDuring[0]).toBe(true);
  });

  it("lets one processor at a time hold a job", async () => {
    const { view } = await receiveImport(
      gateway.deps,
      tenantId,
      { format: "mailchimp", options: { topics: ["tips"] } },
      audience(10, "c"),
    );
    const [first, second] = await Promise.all([
      processImport(gateway.deps, view.id),
      processImport(gateway.deps, view.id),
    ]);
    expect([first, second].sort()).toEqual(["busy", "done"]);
  });
});
