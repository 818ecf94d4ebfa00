import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ago, createKey, erase, expectProblem, grant, write } from "../http/helpers.js";
import { createTenantWithTopics } from "../support/gateway.js";
import type { GatewayUnderTest } from "../support/gateway-under-test.js";
import { RUNTIMES } from "../support/runtimes.js";

/** `GET /v1/suppressions` (docs/design.md §5): active suppressions and objections, newest first, paged. */

interface Stop {
  id: string;
  reason: string;
  topic: string | null;
  email: string | null;
  subject: string;
  since: string;
}

describe.each(RUNTIMES)("on $name", (runtime) => {
  let gw: GatewayUnderTest;
  let key: string;
  let reader: string;

  beforeAll(async () => {
    gw = await runtime.start();
    ({ key } = await createTenantWithTopics(gw));
    reader = await createKey(gw, key, ["compliance:read"]);
    const suppress = (email: string, reason: string, at: string) =>
      write(gw, key, "/v1/suppressions", { email, reason, at });
    const object = (email: string, topics: string[], at: string) =>
      write(gw, key, "/v1/objections", { email, topics, channel: "email", receivedAt: at });
    await suppress("bounce@example.cz", "hard-bounce", ago(gw, { days: 5 }));
    await suppress("lifted@example.cz", "restricted", ago(gw, { days: 4 }));
    await gw.request(`/v1/suppressions/${encodeURIComponent("lifted@example.cz")}/restricted`, {
      method: "DELETE",
      key,
    });
    await object("all@example.cz", ["*"], ago(gw, { days: 3 }));
    await object("tips@example.cz", ["tips"], ago(gw, { days: 2 }));
    // Re-opened by a consent given after the objection: no longer a stop.
    await object("back@example.cz", ["tips"], ago(gw, { days: 2 }));
    await grant(gw, key, "back@example.cz", ["tips"], ago(gw, { days: 1 }));
    // Objected twice to the same topic: listed once, as of the later objection.
    await object("twice@example.cz", ["tips"], ago(gw, { days: 3 }));
    await object("twice@example.cz", ["tips"], ago(gw, { minutes: 30 }));
    await erase(gw, key, "gone@example.cz");
  });
  afterAll(async () => {
    await gw?.stop();
  });

  async function list(query = "", k = reader) {
    const res = await gw.request(`/v1/suppressions${query}`, { key: k });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return JSON.parse(text) as { suppressions: Stop[]; nextCursor: string | null };
  }

  it("lists the active stops, newest first, and not the lifted or re-opened ones", async () => {
    const { suppressions, nextCursor } = await list();
    expect(nextCursor).toBeNull();
    expect(suppressions.map((s) => [s.reason, s.email, s.topic])).toEqual([
      ["erased", null, null],
      ["objected", "twice@example.cz", "tips"],
      ["objected", "tips@example.cz", "tips"],
      ["objected", "all@example.cz", "*"],
      ["hard-bounce", "bounce@example.cz", null],
    ]);
    const times = suppressions.map((s) => Date.parse(s.since));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("filters by reason and pages with a cursor", async () => {
    const objected = await list("?reason=objected");
    expect(objected.suppressions.map((s) => s.email)).toEqual([
      "twice@example.cz",
      "tips@example.cz",
      "all@example.cz",
    ]);
    const paged: Stop[] = [];
    let cursor: string | null = null;
    do {
      const page: { suppressions: Stop[]; nextCursor: string | null } = await list(
        `?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.suppressions.length).toBeLessThanOrEqual(2);
      paged.push(...page.suppressions);
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged.map((s) => s.id)).toEqual((await list()).suppressions.map((s) => s.id));
    await expectProblem(
      await gw.request("/v1/suppressions?reason=bored", { key: reader }),
      400,
      "invalid-request",
    );
    await expectProblem(
      await gw.request("/v1/suppressions?limit=501", { key: reader }),
      400,
      "invalid-request",
    );
  });

  it("is paged as every list is: topics and the outbox too", async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await gw.request(`/v1/topics?limit=2${cursor ? `&cursor=${cursor}` : ""}`, {
        key,
      });
      const page = (await res.json()) as { topics: { id: string }[]; nextCursor: string | null };
      expect(page.topics.length).toBeLessThanOrEqual(2);
      ids.push(...page.topics.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toEqual(["deals-lenses", "invoices", "tips"]);
    const outbox = (await (await gw.request("/v1/outbox", { key })).json()) as {
      messages: unknown[];
      nextCursor: string | null;
    };
    expect(outbox).toMatchObject({ messages: [], nextCursor: null });
  });

  it("needs compliance:read, and shows only the caller's tenant", async () => {
    const sender = await createKey(gw, key, ["send", "evidence:write"]);
    await expectProblem(await gw.request("/v1/suppressions", { key: sender }), 403, "forbidden");
    const other = await createTenantWithTopics(gw, { name: "Other" });
    expect((await list("", other.key)).suppressions).toEqual([]);
  });
});
