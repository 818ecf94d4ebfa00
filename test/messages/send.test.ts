import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOutbox } from "../../src/adapters/outbox.js";
import { justifications, messages, outbox } from "../../src/db/schema.js";
import { GENESIS, verifyChain } from "../../src/domain/proof/chain.js";
import { verifyUnsubscribeToken } from "../../src/domain/unsubscribe-token.js";
import { runDueMessages } from "../../src/services/messages/run-due-messages.js";
import { justificationContent } from "../../src/services/proofs/justification-content.js";
import { deliveriesDone } from "../support/deliveries.js";
import { createTenantWithTopics, startTestGateway, type TestGateway } from "../support/gateway.js";
import { consentData, seedEvidence } from "./seed.js";

/** POST /v1/messages through the local outbox (no SendGrid key). */

interface SendAnswer {
  messageId: string | null;
  status: string;
  counts: { send: number; suppress: number };
  results: {
    email: string;
    decision: string;
    basis: string | null;
    reasons: string[];
    justificationId: string | null;
  }[];
}

let gw: TestGateway;
let key: string;
let tenantId: string;
const MONTH = 30 * 86_400_000;

const message = (
  recipients: { email: string; name?: string }[],
  extra: Record<string, unknown> = {},
) => ({
  topic: "tips",
  from: { email: "news@optika.example", name: "Optika" },
  subject: "Caring for your glasses",
  html: "<html><body><h1>Tips</h1><p>Clean them with a soft cloth.</p></body></html>",
  recipients,
  ...extra,
});

/** Sends, and waits for the delivery queue to hand over what the send queued. */
async function send(json: unknown, headers: Record<string, string> = {}) {
  const res = await gw.request("/v1/messages", { method: "POST", key, json, headers });
  const body = (await res.json()) as SendAnswer & { type?: string };
  await deliveriesDone(gw);
  return { status: res.status, body };
}

async function chainOf(tenant: string) {
  const rows = await gw.deps.db
    .select()
    .from(justifications)
    .where(eq(justifications.tenantId, tenant))
    .orderBy(asc(justifications.seq));
  return rows.map((row) => ({ ...justificationContent(row), hash: row.hash }));
}

beforeAll(async () => {
  gw = await startTestGateway();
  ({ key, tenantId } = await createTenantWithTopics(gw));
});
afterAll(async () => gw.stop());

describe("a 10,000-recipient send with mixed evidence", () => {
  const N = 10_000;
  const email = (i: number) => `reader${i}@mixed.example`;
  let answer: SendAnswer;

  beforeAll(async () => {
    const now = gw.clock();
    // Thirds: consent; consent then an objection; nothing at all.
    await seedEvidence(gw, tenantId, [
      ...Array.from({ length: N }, (_, i) => i)
        .filter((i) => i % 3 !== 2)
        .map((i) => ({
          email: email(i),
          kind: "consent-granted" as const,
          topic: "tips",
          at: now - 2 * MONTH,
          data: consentData,
        })),
      ...Array.from({ length: N }, (_, i) => i)
        .filter((i) => i % 3 === 1)
        .map((i) => ({
          email: email(i),
          kind: "objection" as const,
          topic: "*",
          at: now - MONTH,
          data: { channel: "email" },
        })),
    ]);
    const res = await send(
      message(Array.from({ length: N }, (_, i) => ({ email: email(i), name: `Reader ${i}` }))),
    );
    // Answered once decided and proven; the queue delivers after.
    expect(res.status).toBe(202);
    answer = res.body;
  }, 120_000);

  it("decides every recipient, with the reasons", () => {
    expect(answer.results).toHaveLength(N);
    const expected = Math.ceil(N / 3);
    expect(answer.counts.send).toBe(expected);
    expect(answer.counts.suppress).toBe(N - expected);
    for (const [i, result] of answer.results.entries()) {
      if (i % 3 === 0)
        expect(result).toMatchObject({ decision: "send", basis: "consent", reasons: [] });
      if (i % 3 === 1)
        expect(result).toMatchObject({ decision: "suppress", reasons: ["objected"] });
      if (i % 3 === 2)
        expect(result).toMatchObject({ decision: "suppress", reasons: ["no-basis"] });
      expect(result.justificationId).toMatch(/^jus_/);
    }
    expect(answer.status).toBe("sending");
  });

  it("delivers exactly the recipients that have a basis, once each", async () => {
    const delivered = await gw.deps.db
      .select({ to: outbox.to, justificationId: outbox.justificationId })
      .from(outbox);
    const sentTo = new Set(answer.results.filter((r) => r.decision === "send").map((r) => r.email));
    expect(delivered).toHaveLength(sentTo.size);
    expect(new Set(delivered.map((d) => d.to.replace(/^.*<|>$/g, "")))).toEqual(sentTo);
  });

  it("gives every delivered message its own unsubscribe headers and the compliance footer", async () => {
    const sample = await readOutbox(gw.deps.db, undefined, 50);
    const tokens = new Set<string>();
    for (const mail of sample) {
      const unsubscribe = mail.headers["List-Unsubscribe"] ?? "";
      expect(unsubscribe).toMatch(/^<https?:\/\/[^>]+\/u\/[^>]+>, <mailto:[^>]+>$/);
      expect(mail.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
      const token = /\/u\/([^>]+)>/.exec(unsubscribe)?.[1] ?? "";
      tokens.add(token);
      const payload = verifyUnsubscribeToken(gw.deps.tokenKey as never, token, gw.clock());
      expect(payload).toMatchObject({ tenantId, topic: "tips" });
      // The footer: who sends it, why, the right to object, the link.
      for (const part of [mail.text, mail.html ?? ""]) {
        expect(part).toContain("Optika Praha s.r.o.");
        expect(part).toContain("CZ12345678");
        expect(part).toMatch(/subscribed/i);
        expect(part).toMatch(/object/i);
        expect(part).toContain(`/u/${token}`);
      }
    }
    expect(tokens.size).toBe(sample.length);
  });

  it("writes one chained justification per recipient — sent or suppressed — that verifies", async () => {
    const chain = await chainOf(tenantId);
    const ofMessage = chain.filter((row) => row.message === answer.messageId);
    expect(ofMessage).toHaveLength(N);
    expect(verifyChain({ seq: 0, hash: GENESIS }, chain)).toBeNull();
    const objected = ofMessage.find((row) => row.reasons.includes("objected"));
    expect(objected?.evidence.length).toBeGreaterThan(0);
    expect(JSON.stringify(objected)).not.toContain("@mixed.example");
  });
});

describe("refusals before anything is sent", () => {
  const count = async () => (await gw.deps.db.select().from(messages)).length;

  it.each([
    ["CR/LF in the subject", { subject: "Hi\r\nBcc: everyone@else.example" }, "header-injection"],
    [
      "CR/LF in a recipient name",
      { recipients: [{ email: "a@b.example", name: "A\nB" }] },
      "header-injection",
    ],
    [
      "an unverified From domain",
      { from: { email: "news@elsewhere.example" } },
      "unverified-sender-domain",
    ],
    ["an unknown topic", { topic: "nope" }, "unknown-topic"],
  ])("%s", async (_name, change, type) => {
    const before = await count();
    const res = await send({ ...message([{ email: "a@b.example" }]), ...change });
    expect(res.status).toBe(422);
    expect(res.body.type).toBe(`/problems/${type}`);
    expect(await count()).toBe(before);
  });
});

describe("sending", () => {
  it("deduplicates recipients by normalised address", async () => {
    const res = await send(
      message([
        { email: "Dup@Example.cz" },
        { email: " dup@example.cz " },
        { email: "DUP@example.CZ" },
      ]),
    );
    expect(res.body.results).toHaveLength(1);
  });

  it("a dry run decides and shows, and writes and sends nothing", async () => {
    const now = gw.clock();
    await seedEvidence(gw, tenantId, [
      {
        email: "dry@run.example",
        kind: "consent-granted",
        topic: "tips",
        at: now - MONTH,
        data: consentData,
      },
    ]);
    const before = {
      messages: await gw.deps.db.$count(messages),
      outbox: await gw.deps.db.$count(outbox),
    };
    const res = await send(
      message([{ email: "dry@run.example" }, { email: "none@run.example" }], { dryRun: true }),
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("dry-run");
    expect(res.body.results.map((r) => [r.decision, r.justificationId])).toEqual([
      ["send", null],
      ["suppress", null],
    ]);
    expect(await gw.deps.db.$count(messages)).toBe(before.messages);
    expect(await gw.deps.db.$count(outbox)).toBe(before.outbox);
  });

  it("Idempotency-Key: same request → same answer, nothing sent twice; another body → refused", async () => {
    const now = gw.clock();
    await seedEvidence(gw, tenantId, [
      {
        email: "once@idem.example",
        kind: "consent-granted",
        topic: "tips",
        at: now - MONTH,
        data: consentData,
      },
    ]);
    const body = message([{ email: "once@idem.example" }]);
    const first = await send(body, { "idempotency-key": "send-once" });
    const before = await gw.deps.db.$count(outbox);
    const again = await send(body, { "idempotency-key": "send-once" });
    expect(again.body).toEqual(first.body);
    expect(await gw.deps.db.$count(outbox)).toBe(before);
    const other = await send(
      { ...body, subject: "Something else" },
      { "idempotency-key": "send-once" },
    );
    expect(other.status).toBe(422);
    expect(other.body.type).toBe("/problems/idempotency-key-reused");
  });

  it("locale: cs gives the gateway's footer in Czech and links that open Czech pages", async () => {
    const now = gw.clock();
    await seedEvidence(gw, tenantId, [
      {
        email: "jana@czech.example",
        kind: "consent-granted",
        topic: "tips",
        at: now - MONTH,
        data: consentData,
      },
    ]);
    const res = await send(message([{ email: "jana@czech.example" }], { locale: "cs" }));
    expect(res.body.results[0]).toMatchObject({ decision: "send", basis: "consent" });
    const [mail] = await readOutbox(
      gw.deps.db,
      eq(outbox.justificationId, res.body.results[0]?.justificationId ?? ""),
    );
    if (!mail) throw new Error("no mail in the outbox");
    expect(mail.text).toContain("Tento e-mail dostáváte, protože jste se");
    expect(mail.text).toContain("Toto je obchodní sdělení. Zasílá ho Optika Praha s.r.o.");
    expect(mail.text).toContain("vznést námitku");
    expect(mail.html).toContain("Odhlásit odběr: ");
    // The visible link opens the page in Czech; the header keeps the URL the
    // one-click POST goes to (RFC 8058).
    const header = /<(https?:\/\/[^>]+\/u\/[^>]+)>/.exec(
      mail.headers["List-Unsubscribe"] ?? "",
    )?.[1];
    expect(header).toMatch(/\/u\/[A-Za-z0-9_-]+$/);
    expect(mail.html).toContain(`href="${header}?lang=cs"`);
    expect(mail.text).not.toContain("This is a commercial communication");

    const refused = await send(message([{ email: "jana@czech.example" }], { locale: "de" }));
    expect(refused.status).toBe(400);
  });

  it("service messages carry the identity but no marketing unsubscribe", async () => {
    const res = await send({
      ...message([{ email: "customer@service.example" }]),
      topic: "invoices",
      subject: "Your invoice",
    });
    expect(res.body.results[0]).toMatchObject({ decision: "send", basis: "contract" });
    const [mail] = await readOutbox(
      gw.deps.db,
      eq(outbox.justificationId, res.body.results[0]?.justificationId ?? ""),
    );
    expect(mail?.headers["List-Unsubscribe"]).toBeUndefined();
    expect(mail?.text).toContain("Optika Praha s.r.o.");
    expect(mail?.text).not.toMatch(/unsubscribe/i);
  });

  it("a scheduled send waits, survives a restart, and is decided when it goes", async () => {
    const now = gw.clock();
    await seedEvidence(gw, tenantId, [
      {
        email: "later@sched.example",
        kind: "consent-granted",
        topic: "tips",
        at: now - MONTH,
        data: consentData,
      },
      {
        email: "objects@sched.example",
        kind: "consent-granted",
        topic: "tips",
        at: now - MONTH,
        data: consentData,
      },
    ]);
    const sendAt = new Date(now + 3_600_000).toISOString();
    const res = await send(
      message([{ email: "later@sched.example" }, { email: "objects@sched.example" }], { sendAt }),
    );
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("scheduled");
    expect(await runDueMessages(gw.deps)).toBe(0);
    // An objection before the time comes is honoured.
    await seedEvidence(gw, tenantId, [
      {
        email: "objects@sched.example",
        kind: "objection",
        topic: "*",
        at: now + 60_000,
        data: { channel: "email" },
      },
    ]);
    // A restart: a new gateway on the same database file.
    const { createNodeGateway } = await import("../../src/entry/node-gateway.js");
    const { readConfig } = await import("../../src/config.js");
    const { SECRET, OPERATOR_TOKEN } = await import("../support/gateway.js");
    const clock = () => now + 2 * 3_600_000;
    const restarted = await createNodeGateway(
      readConfig({
        DATABASE_URL: `file:${gw.dbPath}`,
        GROUNDS_SECRET: SECRET,
        GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
      }),
      { clock },
    );
    try {
      expect(await runDueMessages(restarted.deps)).toBe(1);
      await restarted.idle();
      const rows = await restarted.deps.db
        .select()
        .from(justifications)
        .where(eq(justifications.messageId, res.body.messageId ?? ""));
      expect(rows.map((r) => [r.email, r.decision, r.status]).sort()).toEqual([
        ["later@sched.example", "send", "accepted"],
        ["objects@sched.example", "suppress", "suppressed"],
      ]);
      expect(await runDueMessages(restarted.deps)).toBe(0);
    } finally {
      restarted.close();
    }
  });
});
