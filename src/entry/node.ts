import { serve } from "@hono/node-server";
import { readConfig } from "../config.js";
import { adoptUnchainedEvidence } from "../services/evidence/adopt-unchained-evidence.js";
import { resumeImports } from "../services/imports/process.js";
import { resumeInterruptedSends, runDueMessages } from "../services/messages/run-due-messages.js";
import { anchorDueLogs } from "../services/proofs/anchor-log.js";
import { runRetention } from "../services/proofs/run-retention.js";
import { createNodeGateway, operatorTokenNotice, withStaticAssets } from "./node-gateway.js";

/** Grounds on Node: the embedded libSQL file by default. */
const config = readConfig(process.env);
const gateway = await createNodeGateway(config);
// Imports and sends a restart cut off go on where they stopped.
gateway.deps.runInBackground?.(resumeImports(gateway.deps));
gateway.deps.runInBackground?.(resumeInterruptedSends(gateway.deps));
// Evidence stored before the evidence chain existed is chained now, not at
// its tenant's next write (docs/proof-log.md).
gateway.deps.runInBackground?.(adoptUnchainedEvidence(gateway.deps));
// The delivery queue over the database: chunks waiting out a provider outage
// become due, unknown outcomes are settled from the provider's events.
const DELIVERY_INTERVAL_MS = 5_000;
const deliveries = setInterval(() => gateway.deliveries.wake(), DELIVERY_INTERVAL_MS);
// Scheduled sends (`sendAt`) go when due; they are in the database, so a
// restart loses none.
const SCHEDULER_INTERVAL_MS = 15_000;
const scheduler = setInterval(() => {
  gateway.deps.runInBackground?.(runDueMessages(gateway.deps));
}, SCHEDULER_INTERVAL_MS);
// Retention (proofs past the tenant's retention period, with a checkpoint)
// runs hourly; on Workers a Cron Trigger does it.
const RETENTION_INTERVAL_MS = 60 * 60_000;
gateway.deps.runInBackground?.(runRetention(gateway.deps, gateway.deps.clock()));
const retention = setInterval(() => {
  gateway.deps.runInBackground?.(runRetention(gateway.deps, gateway.deps.clock()));
}, RETENTION_INTERVAL_MS);
// Anchoring (docs/design.md §6): each log that grew is time-stamped by TSA_URL once
// its last anchor is an interval old; checked every minute, nothing without TSA_URL.
const ANCHOR_CHECK_INTERVAL_MS = 60_000;
const anchoring = setInterval(() => {
  gateway.deps.runInBackground?.(anchorDueLogs(gateway.deps));
}, ANCHOR_CHECK_INTERVAL_MS);

// Outbound webhooks: each stop wakes the runner at once; this picks up the
// retries when they fall due, and what a restart left pending.
const WEBHOOK_INTERVAL_MS = 5_000;
gateway.runWebhooks();
const webhooks = setInterval(gateway.runWebhooks, WEBHOOK_INTERVAL_MS);

if (gateway.generatedOperatorToken) {
  console.log(operatorTokenNotice(gateway.generatedOperatorToken));
}

const server = serve({ fetch: withStaticAssets(gateway.app).fetch, port: config.port }, (info) => {
  console.log(
    `Grounds listening on http://localhost:${info.port} (database ${config.databaseUrl})`,
  );
});

function shutdown() {
  clearInterval(scheduler);
  clearInterval(deliveries);
  clearInterval(retention);
  clearInterval(anchoring);
  clearInterval(webhooks);
  server.close(() => {
    gateway.close();
    process.exit(0);
  });
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
