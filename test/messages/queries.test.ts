import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { consentsOf, seedEvidence } from "./seed.js";

/**
 * Deciding and proving for a send is batched: the number of statements grows
 * with the number of 1,000-recipient chunks, never with the recipients.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
let counting = false;
let statements = 0;

beforeAll(async () => {
  gw = await startTestGateway({
    onQuery: () => {
      if (counting) statements += 1;
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
}, 60_000);
afterAll(async () => gw.stop());

async function statementsFor(from: number, count: number): Promise<number> {
  statements = 0;
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
  counting = false;
  expect(res.status).toBe(200);
  return statements;
}

describe("a send's statements", () => {
  it("grow by chunks of 1,000, not by recipients", async () => {
    const one = await statementsFor(0, 1000);
    const five = await statementsFor(1000, 5000);
    // Four more chunks cost at most ten statements each (decide, prove,
    // re-check, hand over, record the outcome) — 4,000 more recipients none.
    expect(five - one).toBeLessThanOrEqual(4 * 10);
    expect(one).toBeLessThanOrEqual(40);
  }, 60_000);
});
