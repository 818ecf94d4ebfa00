import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfig } from "../../src/config.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { createTenant } from "../../src/services/create-tenant.js";
import type { Deps } from "../../src/services/deps.js";

/** A gateway on a fresh temp libSQL file, for one bench; `dispose()` removes it. */
export async function benchGateway(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `grounds-bench-${name}-`));
  const gateway = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${join(dir, "bench.db")}`,
      GROUNDS_SECRET: "bench-secret-0123456789-0123456789-0123456789",
      GROUNDS_OPERATOR_TOKEN: "bench-operator-token-0123456789",
    }),
  );
  return {
    ...gateway,
    /** The database's URL, for a raw libSQL client beside the gateway. */
    databaseUrl: `file:${join(dir, "bench.db")}`,
    dispose() {
      gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bench's tenant: a Czech seller with the verified domain bench.example. */
export const BENCH_TENANT = {
  name: "Bench",
  legalName: "Bench s.r.o.",
  address: "Bench 1, Praha",
  registrationId: "CZ00000000",
  contactEmail: "privacy@bench.example",
  domains: ["bench.example"],
  country: "CZ",
  mode: "jurisdictional",
} as const;

export async function benchTenant(deps: Deps) {
  const { tenant } = await createTenant(deps, {
    ...BENCH_TENANT,
    domains: [...BENCH_TENANT.domains],
  });
  return tenant;
}
