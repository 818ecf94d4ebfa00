/**
 * A SendGrid Event Webhook POST as large as SendGrid sends them (a batch is
 * posted when it reaches 768 KB: 2,400 events of this shape), signed with ECDSA P-256 as
 * SendGrid signs it, through the HTTP app (signature verification, parsing,
 * dedupe, matching, evidence and status writes in one atomic batch) against a
 * temp libSQL file holding a proof log of 50,000 justifications; then the
 * same batch redelivered (every event a duplicate).
 * Run alone with `npx tsx bench/webhook.ts`.
 */

import { generateKeyPairSync, sign } from "node:crypto";
import { normaliseAddress } from "../src/domain/address.js";
import { newId } from "../src/domain/ids.js";
import { defineTopic } from "../src/services/define-topic.js";
import { subjectKeyOf } from "../src/services/deps.js";
import {
  appendJustifications,
  type JustificationDraft,
} from "../src/services/proofs/append-justifications.js";
import { updateSettings } from "../src/services/settings/update-settings.js";
import { loadTenant } from "../src/services/tenant.js";
import { benchGateway, benchTenant } from "./support/gateway.js";

const EVENTS = 2_400;
/** Events per recipient: processed, delivered, open, click (and a few stops). */
const RECIPIENTS = EVENTS / 4;
/** The tenant's proof log before the POST: a webhook must not scan it. */
const HISTORY = 50_000;

const gateway = await benchGateway("webhook");
const { deps, app } = gateway;

try {
  const tenant = await benchTenant(deps);
  await defineTopic(deps, tenant.id, {
    id: "tips",
    name: "Tips",
    class: "marketing",
    categories: [],
  });
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await updateSettings(
    deps,
    await loadTenant(deps, tenant.id),
    {
      sendgrid: {
        webhookPublicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
        asmGroups: { "42": "tips" },
      },
    },
    "operator",
  );

  // The justifications the events are about, as the send path writes them.
  const now = deps.clock();
  const email = (i: number) => `reader${i}@bench.example`;
  const all: JustificationDraft[] = Array.from({ length: HISTORY }, (_, i) => ({
    id: newId("jus", now),
    messageId: "msg_bench",
    subjectKey: subjectKeyOf(deps, tenant.id, normaliseAddress(email(i))),
    topic: "tips",
    decision: "send",
    basis: "consent",
    reasons: [],
    ruleSet: "cz@1",
    evidence: [],
    trace: [],
    decidedAt: now,
    supersedes: null,
    email: email(i),
    chunk: Math.floor(i / 1000),
    status: "accepted",
    providerMessageId: "bench-x-message-id",
    error: null,
    statusAt: now,
  }));
  await appendJustifications(deps, tenant.id, all);
  // The events are about the latest 2,500 of them.
  const drafts = all.slice(HISTORY - RECIPIENTS);

  // SendGrid's event shapes ("Event Webhook Reference"), 4 per recipient.
  const seconds = Math.floor(now / 1000) - 600;
  const events = drafts.flatMap((draft, n) => {
    const i = HISTORY - RECIPIENTS + n;
    const base = (event: string, offset: number, extra: Record<string, unknown> = {}) => ({
      email: email(i),
      timestamp: seconds + offset,
      "smtp-id": `<bench${i}@ismtpd0001p1lon1.sendgrid.net>`,
      event,
      category: ["newsletter"],
      sg_event_id: `${event}-${i}-${"x".repeat(22)}`,
      sg_message_id: `bench${i}.filter0001p1las1-12345-5C90E446-34.0`,
      justification_id: draft.id,
      ...extra,
    });
    const last =
      i % 50 === 0
        ? base("spamreport", 400)
        : i % 50 === 1
          ? base("bounce", 400, {
              type: "bounce",
              reason: "550 5.1.1 user unknown",
              status: "5.1.1",
            })
          : i % 50 === 2
            ? base("group_unsubscribe", 400, { asm_group_id: 42 })
            : base("click", 400, { url: "https://bench.example/offer", useragent: "Mozilla/5.0" });
    return [
      base("processed", 0),
      base("delivered", 5, { response: "250 OK", tls: 1, ip: "167.89.92.110" }),
      base("open", 300, {
        sg_machine_open: i % 10 === 0,
        useragent: "Mozilla/5.0",
        ip: "66.249.93.84",
      }),
      last,
    ];
  });
  const body = JSON.stringify(events);

  const post = async () => {
    // Signed when sent, as SendGrid signs each POST; the signing is SendGrid's
    // work, not ours, so it is done before the clock starts.
    const timestamp = String(Math.floor(deps.clock() / 1000));
    const signature = sign("sha256", Buffer.from(timestamp + body), privateKey).toString("base64");
    const request = new Request(`http://bench.test/webhooks/sendgrid/${tenant.id}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
      },
      body,
    });
    const start = performance.now();
    const res = await app.fetch(request);
    const report = (await res.json()) as Record<string, number>;
    const elapsed = (performance.now() - start) / 1000;
    if (res.status !== 200)
      throw new Error(`webhook answered ${res.status}: ${JSON.stringify(report)}`);
    return { elapsed, report };
  };

  const first = await post();
  const again = await post();
  const mib = (body.length / 1024 / 1024).toFixed(1);
  const rate = (elapsed: number) => Math.round(EVENTS / elapsed).toLocaleString("en");
  console.log(
    `webhook POST of ${EVENTS.toLocaleString("en")} events (${mib} MiB, ECDSA verify + dedupe + evidence + statuses, one atomic batch): ${first.elapsed.toFixed(2)} s = ${rate(first.elapsed)} events/s (applied ${first.report.applied}, ignored ${first.report.ignored}, evidence ${first.report.evidence})`,
  );
  console.log(
    `same batch redelivered (all duplicates): ${again.elapsed.toFixed(2)} s = ${rate(again.elapsed)} events/s (duplicates ${again.report.duplicates})`,
  );
} finally {
  gateway.dispose();
}
