import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { consentsOf, seedEvidence } from "./seed.js";

/**
 * Deciding and proving for a send is batched: at most ⌈N/1000⌉ + a constant
 * statements for N recipients, never one per recipient; delivery then costs
 * a constant number per 1,000-recipient chunk (one provider call each).
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
let counting = false;
let statements: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    onQuery: (query) => {
      if (counting) statements.push(query);
    },
  });
  ({ key, tenantId } = await createTenantWithTopics(gw));
  await seedEvidence(
    gw,
    tenantId,
    consentsOf(
      gw,
      Array.from({ length: 6000 }, (_, i) => `r${i}@queries.example`),
    ),
  );
  // The sends decide after the evidence was recorded (a re-check before
  // delivery looks again only at what was recorded since).
  gw.clock.advance(1000);
}, 60_000);
afterAll(async () => gw.stop());

/** The statements of a send (those in a batch too), split where its proof is written. */
async function statementsFor(
  from: number,
  count: number,
): Promise<{ decideAndProve: number; deliver: number }> {
  statements = [];
  counting = true;
  const res = await gw.request("/v1/messages", {
    method: "POST",
    key,
    json: {
      topic: "tips",
      from: { email: "news@optika.example" },
      subject: "Hello",
      text: "Hello.",
      recipients: Array.from({ length: count }, (_, i) => ({
        email: `r${from + i}@queries.example`,
      })),
    },
  });
  // Delivery follows the answer (the delivery worker): counted until it is done.
  await gw.idle();
  counting = false;
  expect(res.status).toBe(202);
  // Proving ends with the chain head's move, in the same batch as the rows.
  const proven = statements.findIndex((q) => /^insert into "chain_heads"/.test(q)) + 1;
  expect(proven).toBeGreaterThan(0);
  return { decideAndProve: proven, deliver: statements.length - proven };
}

describe("a send's statements", () => {
  it("deciding and proving take at most ⌈N/1000⌉ + a constant, delivery a constant per chunk", async () => {
    const one = await statementsFor(0, 1000);
    const five = await statementsFor(1000, 5000);
    // Deciding and proving: one more statement per 1,000 recipients (the
    // justifications' insert), the rest the same whatever N. Of the constant,
    // five are the Merkle log's (docs/design.md §6): its head read, its entries
    // (5,000 per statement), the completed stored nodes, the moved head and
    // the signed checkpoint.
    const constant = one.decideAndProve - 1;
    expect(five.decideAndProve).toBeLessThanOrEqual(5 + constant);
    expect(constant).toBeLessThanOrEqual(13);
    // Delivery: the same few statements for every chunk (claim, re-check,
    // hand over — here the local outbox's two writes —, record the outcome),
    // around a constant few for the message (the worker's look for due
    // chunks, the message, its topic and key read once, its settling).
    const perChunk = (five.deliver - one.deliver) / 4;
    expect(perChunk).toBeLessThanOrEqual(7);
    expect(one.deliver - perChunk).toBeLessThanOrEqual(12);
  }, 60_000);
});
