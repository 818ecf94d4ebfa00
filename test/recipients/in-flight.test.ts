import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { justifications, outbox } from "../../src/db/schema.js";
import type { MailProvider } from "../../src/services/delivery/provider.js";
import { consentData, seedEvidence } from "../messages/seed.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { DAY, evidenceOf, MESSAGE, oneClick, signedToken } from "./helpers.js";

/**
 * An unsubscribe during a send of several chunks takes effect for the
 * chunks not yet handed to the provider (docs/design.md §5, issue #4): the one-click
 * POST answers at once while the provider is busy with the first chunk, and
 * the re-check before the next chunk supersedes the recipient's
 * justification with a suppression.
 */

let gw: TestGateway;
let key: string;
let tenantId: string;
const N = 1500;
const address = (i: number) => `r${String(i).padStart(4, "0")}@inflight.example`;

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
  await seedEvidence(
    gw,
    tenantId,
    Array.from({ length: N }, (_, i) => ({
      email: address(i),
      kind: "consent-granted" as const,
      topic: "tips",
      at: gw.clock() - DAY,
      data: consentData,
    })),
  );
});

afterAll(async () => {
  await gw.stop();
});

describe("an unsubscribe during an in-flight send", () => {
  it("answers while the provider holds the first chunk, and cancels the recipient in a chunk not yet handed over", async () => {
    const outboxProvider = gw.deps.provider;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let firstCallStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      firstCallStarted = resolve;
    });
    let calls = 0;
    const slow: MailProvider = {
      name: "outbox",
      async send(mail, options) {
        calls += 1;
        if (calls === 1) {
          firstCallStarted();
          await gate;
        }
        return outboxProvider.send(mail, options);
      },
    };
    gw.deps.provider = slow;
    try {
      const recipients = Array.from({ length: N }, (_, i) => ({ email: address(i) }));
      const sending = gw.request("/v1/messages", {
        method: "POST",
        key,
        json: { ...MESSAGE, recipients },
      });
      await started;

      // Chunk 0 is with the provider; chunk 1 waits. A recipient of chunk 1
      // unsubscribes with the link of an earlier mail.
      const late = address(1200);
      const [pending] = await gw.deps.db
        .select()
        .from(justifications)
        .where(eq(justifications.email, late));
      expect(pending).toMatchObject({ status: "pending", chunk: 1, decision: "send" });
      const earlier = signedToken(gw, tenantId, late, "tips", "msg_0000aaaa");
      const answer = await oneClick(gw, earlier);
      // Answered while the send is still blocked at the provider.
      expect(answer.status).toBe(200);
      expect(calls).toBe(1);

      release();
      const res = await sending;
      // Answered once proven: the delivery worker hands the chunks over after.
      expect(res.status).toBe(202);
      const body = (await res.json()) as { messageId: string; status: string };
      expect(body.status).toBe("sending");
      await gw.idle();

      // The first justification is cancelled, never changed otherwise; a new
      // one supersedes it with the suppression and the objection it rests on.
      const rows = await gw.deps.db
        .select()
        .from(justifications)
        .where(and(eq(justifications.messageId, body.messageId), eq(justifications.email, late)));
      expect(rows).toHaveLength(2);
      const original = rows.find((r) => r.id === pending?.id);
      const superseding = rows.find((r) => r.supersedes === pending?.id);
      expect(original).toMatchObject({ status: "cancelled", decision: "send", basis: "consent" });
      const objection = (await evidenceOf(gw, tenantId, late)).find((e) => e.kind === "objection");
      expect(superseding).toMatchObject({
        decision: "suppress",
        reasons: ["objected"],
        status: "suppressed",
      });
      expect(superseding?.evidence).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: objection?.id, kind: "objection" })]),
      );
      expect(superseding?.seq).toBeGreaterThan(original?.seq ?? Number.POSITIVE_INFINITY);

      // Nothing went to them; everyone else got the mail once.
      const mails = await gw.deps.db.select({ to: outbox.to }).from(outbox);
      expect(mails.some((m) => m.to === late)).toBe(false);
      expect(mails).toHaveLength(N - 1);
      expect(calls).toBe(2);
    } finally {
      gw.deps.provider = outboxProvider;
    }
  });
});
