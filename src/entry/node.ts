import { serve } from "@hono/node-server";
import { readConfig } from "../config.js";
import { resumeImports } from "../services/imports/process.js";
import { resumeInterruptedSends, runDueMessages } from "../services/messages/run-due-messages.js";
import { createNodeGateway } from "./node-gateway.js";

/** Grounds on Node: the embedded libSQL file by default. */
const config = readConfig(process.env);
const gateway = await createNodeGateway(config);
// Imports and sends a restart cut off go on where they stopped.
gateway.deps.runInBackground?.(resumeImports(gateway.deps));
gateway.deps.runInBackground?.(resumeInterruptedSends(gateway.deps));
// Scheduled sends (`sendAt`) go when due; they are in the database, so a
// restart loses none.
const SCHEDULER_INTERVAL_MS = 15_000;
const scheduler = setInterval(() => {
  gateway.deps.runInBackground?.(runDueMessages(gateway.deps));
}, SCHEDULER_INTERVAL_MS);

if (gateway.generatedOperatorToken) {
  console.log(
    [
      "",
      "  A new operator token was generated. It is shown only this once:",
      "",
      `    GROUNDS_OPERATOR_TOKEN=${gateway.generatedOperatorToken}`,
      "",
      "  Keep it: it creates tenants (POST /v1/tenants). Only its hash is stored.",
      "",
    ].join("\n"),
  );
}

const server = serve({ fetch: gateway.app.fetch, port: config.port }, (info) => {
  console.log(
    `Grounds listening on http://localhost:${info.port} (database ${config.databaseUrl})`,
  );
});

function shutdown() {
  clearInterval(scheduler);
  server.close(() => {
    gateway.close();
    process.exit(0);
  });
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
