import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFetchSendGridProvider } from "../../src/adapters/sendgrid-fetch.js";
import { deliveryChunks, justifications, messages } from "../../src/db/schema.js";
import {
  type ChunkJob,
  deliverQueuedChunk,
  STALE_CHUNK_MS,
  sweepStaleChunks,
} from "../../src/services/messages/queued-chunks.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type SendGridServer, startSendGridServer } from "../support/sendgrid-server.js";
import { consentsOf, seedEvidence } from "./seed.js";

/**
 * Large sends through a queue (Workers: `deps.enqueueChunks`): the send is proven and answered
 * `sending`; each queued chunk is delivered by the consumer's `deliverQueuedChunk`. Queues deliver
 * at least once, so the same chunk processed twice — one after the other or at once — must reach
 * the provider once.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
let sendgrid: SendGridServer;
const jobs: ChunkJob[] = [];
const N = 1500;
const email = (i: number) => `queued${i}@chunks.example`;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
  sendgrid = await startSendGridServer();
  gw.deps.provider = createFetchSendGridProvider({ apiKey: sendgrid.apiKey, apiUrl: sendgrid.url });
  gw.deps.enqueueChunks = async (tenant, messageId, chunks) => {
    for (const chunk of chunks) jobs.push({ tenantId: tenant, messageId, chunk });
  };
  await seedEvidence(
    gw,
    tenantId,
    consentsOf(
      gw,
      Array.from({ length: N }, (_, i) => email(i)),
    ),
  );
}, 60_000);

afterAll(async () => {
  await sendgrid.close();
  await gw.stop();
});

beforeEach(() => {
  sendgrid.reset();
  jobs.length = 0;
});

async function send(count: number) {
  const res = await gw.request("/v1/messages", {
    method: "POST",
    key,
    json: {
      topic: "tips",
      from: { email: "news@optika.example", name: "Optika" },
      subject: "Hello",
      html: "<p>Hello {{recipient.name}}</p>",
      recipients: Array.from({ length: count }, (_, i) => ({ email: email(i) })),
    },
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { messageId: string; status: string };
}

async function statusOf(messageId: string) {
  const row = await gw.deps.db.query.messages.findFirst({ where: eq(messages.id, messageId) });
  return row?.status;
}

describe("a send of more than one chunk, with a queue", () => {
  it("is proven and answered `sending`, one job per chunk, nothing handed over yet", async () => {
    const { messageId, status } = await send(N);
    expect(status).toBe("sending");
    expect(jobs).toEqual([
      { tenantId, messageId, chunk: 0 },
      { tenantId, messageId, chunk: 1 },
    ]);
    expect(sendgrid.attempts).toHaveLength(0);
    const chunks = await gw.deps.db
      .select({ status: deliveryChunks.status })
      .from(deliveryChunks)
      .where(eq(deliveryChunks.messageId, messageId));
    expect(chunks.map((c) => c.status)).toEqual(["queued", "queued"]);
  });

  it("delivers each chunk once, however often its job is processed; the last one settles", async () => {
    const { messageId } = await send(N);
    const [first, second] = jobs;
    if (!first || !second) throw new Error("two jobs expected");

    await deliverQueuedChunk(gw.deps, first);
    expect(await statusOf(messageId)).toBe("sending");
    // Redelivered after it was handled.
    await deliverQueuedChunk(gw.deps, first);
    // Redelivered while it is being handled.
    await Promise.all([deliverQueuedChunk(gw.deps, second), deliverQueuedChunk(gw.deps, second)]);

    expect(await statusOf(messageId)).toBe("sent");
    expect(sendgrid.requests.map((r) => r.body.personalizations.length)).toEqual([1000, 500]);
    const received = sendgrid.requests.flatMap((r) =>
      r.body.personalizations.map((p) => p.to[0]?.email),
    );
    expect(new Set(received).size).toBe(N);
  });

  it("a single chunk goes through the queue too: nothing is delivered in the request", async () => {
    const { messageId, status } = await send(10);
    expect(status).toBe("sending");
    expect(jobs).toEqual([{ tenantId, messageId, chunk: 0 }]);
    expect(sendgrid.attempts).toHaveLength(0);
  });

  it("the cron's sweep re-enqueues a chunk whose queue message was lost, and makes one cut off mid-hand-over unknown", async () => {
    const { messageId } = await send(N);
    jobs.length = 0; // both queue messages lost
    // Chunk 1 was claimed by a consumer that was then cut off.
    await gw.deps.db
      .update(deliveryChunks)
      .set({ status: "handing" })
      .where(and(eq(deliveryChunks.messageId, messageId), eq(deliveryChunks.chunk, 1)));

    // Not yet stale: nothing happens.
    expect(await sweepStaleChunks(gw.deps)).toEqual({ requeued: 0, unknown: 0 });

    gw.clock.advance(STALE_CHUNK_MS + 1000);
    // (The first test's send, never delivered, is re-enqueued too.)
    const swept = await sweepStaleChunks(gw.deps);
    expect(swept.unknown).toBe(1);
    expect(swept.requeued).toBe(jobs.length);
    const ours = jobs.filter((j) => j.messageId === messageId);
    expect(ours).toEqual([{ tenantId, messageId, chunk: 0 }]);
    // Touched: the next sweep waits as long again.
    expect(await sweepStaleChunks(gw.deps)).toEqual({ requeued: 0, unknown: 0 });

    const rows = await gw.deps.db
      .select({ chunk: justifications.chunk, status: justifications.status })
      .from(justifications)
      .where(eq(justifications.messageId, messageId));
    expect(rows.filter((r) => r.chunk === 1).every((r) => r.status === "unknown")).toBe(true);

    const [requeued] = ours;
    if (!requeued) throw new Error("a job expected");
    await deliverQueuedChunk(gw.deps, requeued);
    expect(sendgrid.requests.map((r) => r.body.personalizations.length)).toEqual([1000]);
    // The unknown chunk is never re-sent blindly: the message waits for the provider's events.
    expect(await statusOf(messageId)).toBe("sending");
  });
});
