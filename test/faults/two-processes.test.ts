import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidenceCount, oneClick, signedToken } from "../recipients/helpers.js";
import {
  anotherGatewayOn,
  createTenantWithTopics,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";

/**
 * Issue 16 item 7: two processes on one database file — 6 of 6,000
 * concurrent one-click unsubscribes answered 500 (SQLITE_BUSY). Every one is
 * an objection (GDPR Art. 21(3)) and must be kept: none may fail.
 */

let first: TestGateway;
let second: Awaited<ReturnType<typeof anotherGatewayOn>>;
let tenantId: string;

beforeAll(async () => {
  first = await startTestGateway();
  ({ tenantId } = await createTenantWithTopics(first));
  second = await anotherGatewayOn(first);
});

afterAll(async () => {
  second?.close();
  await first?.stop();
});

const TOTAL = 1200;
const IN_FLIGHT = 200;

describe("two gateways on one database file", () => {
  it(`answers every one of ${TOTAL} concurrent one-click unsubscribes 200, and keeps each`, async () => {
    const before = await evidenceCount(first);
    const statuses = new Map<number, number>();
    const gatewayOf = (i: number) =>
      i % 2 === 0
        ? first
        : {
            ...first,
            request: (path: string, init?: RequestInit) =>
              Promise.resolve(second.app.fetch(new Request(`http://grounds.test${path}`, init))),
          };
    for (let start = 0; start < TOTAL; start += IN_FLIGHT) {
      const answers = await Promise.all(
        Array.from({ length: Math.min(IN_FLIGHT, TOTAL - start) }, (_, n) => {
          const i = start + n;
          const token = signedToken(first, tenantId, `busy${i}@example.cz`);
          return oneClick(gatewayOf(i), token).then(async (res) => {
            await res.arrayBuffer();
            return res.status;
          });
        }),
      );
      for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 200: TOTAL });
    expect((await evidenceCount(first)) - before).toBeGreaterThanOrEqual(TOTAL);
  }, 240_000);
});
