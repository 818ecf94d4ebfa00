import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readConfig } from "../../src/config.js";
import { keyedHasher } from "../../src/domain/digest.js";
import { createNodeGateway } from "../../src/entry/node-gateway.js";
import { type Deps, subjectKeyOf as subjectKeyOfDeps } from "../../src/services/deps.js";
import { closeDatabaseOf } from "./database.js";
import {
  OPERATOR_TOKEN,
  SECRET,
  startTestGateway,
  type TestClock,
  type TestGateway,
} from "./gateway.js";
import type { GatewayUnderTest } from "./gateway-under-test.js";
import { startTestWorker } from "./worker.js";

/**
 * The runtimes an HTTP behaviour test runs against, so that the Node server and the Worker
 * build cannot drift apart: `describe.each(RUNTIMES)("on $name", (runtime) => …)`, starting
 * one gateway per runtime per test file (`runtime.start()` in a `beforeAll`), each on a libSQL
 * file of its own.
 *
 * - `node`: the app's fetch handler in-process, on a clock the test can move (`movedClock`).
 * - `workerd`: the Worker bundle in workerd over real HTTP, its database through the test
 *   Hrana server; its clock is the real one.
 *
 * A case that needs a moved clock is registered only under `node`, with a comment saying why.
 */
export interface Runtime {
  readonly name: GatewayUnderTest["runtime"];
  start(): Promise<GatewayUnderTest>;
}

export const RUNTIMES: readonly Runtime[] = [
  { name: "node", start: () => startTestGateway() },
  {
    name: "workerd",
    async start() {
      const dir = mkdtempSync(join(tmpdir(), "grounds-workerd-"));
      const worker = await startTestWorker({ dbPath: join(dir, "grounds.db") });
      return {
        runtime: worker.runtime,
        dbPath: worker.dbPath,
        clock: worker.clock,
        request: worker.request,
        async stop() {
          try {
            await worker.stop();
          } finally {
            closeDatabaseOf(worker);
            rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    },
  },
];

/** The Node gateway's movable clock; only a case registered under `node` may ask for it. */
export function movedClock(gateway: GatewayUnderTest): TestClock {
  const clock = (gateway as Partial<TestGateway>).clock;
  if (gateway.runtime !== "node" || typeof clock?.advance !== "function") {
    throw new Error(`The ${gateway.runtime} gateway's clock is the real one: it cannot be moved.`);
  }
  return clock;
}

/** The Node harness itself (its deps can be changed); only a case registered under `node` may. */
export function nodeHarness(gateway: GatewayUnderTest): TestGateway {
  if (gateway.runtime !== "node" || !("deps" in gateway)) {
    throw new Error(`The ${gateway.runtime} gateway is not the in-process Node harness.`);
  }
  return gateway as TestGateway;
}

/**
 * Lets a little time pass on the gateway's clock, so that what is done next is dated strictly
 * after what was done before: the Node clock is moved, workerd's (the real one) waited for.
 */
export async function letTimePass(gateway: GatewayUnderTest, ms = 20): Promise<void> {
  if (gateway.runtime === "node") {
    movedClock(gateway).advance(ms);
    return;
  }
  await sleep(ms);
}

const subjectKeyHasher = keyedHasher(SECRET, "subject");

/**
 * The keyed hash a gateway started with the test SECRET (either runtime) refers to a subject
 * by (docs/design.md §6): the gateway's own derivation, with the secret the harnesses give it.
 */
export function subjectKeyOf(tenantId: string, normalisedAddress: string): string {
  return subjectKeyOfDeps(
    { subjectKeyHasher } as Pick<Deps, "subjectKeyHasher"> as Deps,
    tenantId,
    normalisedAddress,
  );
}

/**
 * The gateway's own services on its database file, for what a test seeds that the API does not
 * take (a justification as the send path writes it), in either runtime: a Node gateway opened
 * beside it on the same file, with the same secret and on the gateway's clock. `close` it.
 */
export async function servicesBeside(
  gateway: GatewayUnderTest,
): Promise<{ deps: Deps; clock: () => number; close(): void }> {
  const clock = () => gateway.clock();
  const beside = await createNodeGateway(
    readConfig({
      DATABASE_URL: `file:${gateway.dbPath}`,
      GROUNDS_SECRET: SECRET,
      GROUNDS_OPERATOR_TOKEN: OPERATOR_TOKEN,
    }),
    { clock },
  );
  return { deps: beside.deps, clock, close: beside.close };
}
