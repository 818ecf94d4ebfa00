import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * Issue 16 item 8: after `DELETE /v1/subjects/{email}`, a replay of an
 * earlier request's Idempotency-Key still returned the erased address. The
 * stored answer goes with the erasure.
 */

let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key } = await createTenantWithTopics(gw));
});

afterAll(async () => {
  await gw.stop();
});

describe("erasure and Idempotency-Key replays", () => {
  it("a replay after erasure no longer returns the erased address", async () => {
    const send = () =>
      gw.request("/v1/messages", {
        method: "POST",
        key,
        headers: { "idempotency-key": "send-before-erasure" },
        json: {
          topic: "invoices",
          from: { email: "shop@optika.example" },
          subject: "Invoice",
          text: "Your invoice",
          recipients: [{ email: "Erased.Person@Example.cz" }, { email: "kept@example.cz" }],
        },
      });
    // 202: the queue delivers after the answer (docs/design.md §7).
    const first = await send();
    expect(first.status).toBe(202);
    await deliveriesDone(gw);
    expect(await first.text()).toContain("Erased.Person@Example.cz");
    const replay = await send();
    expect(replay.headers.get("idempotent-replayed")).toBe("true");

    const erased = await gw.request(
      `/v1/subjects/${encodeURIComponent("erased.person@example.cz")}`,
      {
        method: "DELETE",
        key,
      },
    );
    expect(erased.status).toBe(200);

    // No stored answer names the address any more …
    const rows = await gw.deps.db.query.idempotencyKeys.findMany();
    expect(
      rows
        .map((r) => r.body ?? "")
        .join("\n")
        .toLowerCase(),
    ).not.toContain("erased.person@example.cz");
    // … and the same key is a new request, decided afresh: not a replay.
    const after = await send();
    expect(after.status).toBe(202);
    await deliveriesDone(gw);
    expect(after.headers.get("idempotent-replayed")).toBeNull();
  });
});
