import { normaliseAddress } from "../../src/domain/address.js";
import { newId } from "../../src/domain/ids.js";
import { subjectKeyOf } from "../../src/services/deps.js";
import {
  appendJustifications,
  type JustificationDraft,
} from "../../src/services/proofs/append-justifications.js";
import { runGrounds } from "../support/cli.js";
import { OPERATOR_TOKEN, TENANT, type TestGateway } from "../support/gateway.js";

/** Runs `grounds …` in a process of its own, as users do (export and verify take longer). */
export function grounds(args: string[], env: Record<string, string> = {}) {
  return runGrounds(args, env, 60_000);
}

/** A tenant with an admin key and a compliance:read key. */
export async function tenantWithKeys(gw: TestGateway, name = "Optika") {
  const created = await gw.request("/v1/tenants", {
    method: "POST",
    key: OPERATOR_TOKEN,
    json: { ...TENANT, name },
  });
  const { tenant, adminKey } = (await created.json()) as {
    tenant: { id: string };
    adminKey: { key: string };
  };
  const res = await gw.request("/v1/keys", {
    method: "POST",
    key: adminKey.key,
    json: { scopes: ["compliance:read"] },
  });
  const { key } = (await res.json()) as { key: string };
  return { tenantId: tenant.id, admin: adminKey.key, compliance: key };
}

/**
 * Appends `n` justifications straight through the chain's own appender (a
 * send of tens of thousands of recipients over HTTP would make these tests
 * about sending). `shape(i)` overrides fields of the i-th.
 */
export async function appendMany(
  gw: TestGateway,
  tenantId: string,
  n: number,
  shape: (i: number) => Partial<JustificationDraft> & { address?: string } = () => ({}),
): Promise<void> {
  const base = gw.clock();
  for (let start = 0; start < n; start += 5000) {
    const drafts: JustificationDraft[] = [];
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const { address = `person${i % 50}@example.com`, ...over } = shape(i);
      drafts.push({
        id: newId("jus", base + i),
        messageId: `msg_${Math.floor(i / 100)}`,
        subjectKey: subjectKeyOf(gw.deps, tenantId, normaliseAddress(address)),
        topic: i % 2 === 0 ? "tips" : "deals-lenses",
        decision: i % 3 === 0 ? "suppress" : "send",
        basis: i % 3 === 0 ? null : "consent",
        reasons: i % 3 === 0 ? ["no-basis"] : ["consent"],
        ruleSet: "cz@1",
        evidence: [],
        trace: [
          { rule: "basis", outcome: i % 3 === 0 ? "fail" : "pass", detail: "", ruleSet: "cz@1" },
        ],
        decidedAt: base - (n - i) * 60_000,
        supersedes: null,
        email: address,
        chunk: 0,
        status: i % 3 === 0 ? "suppressed" : "accepted",
        providerMessageId: null,
        error: null,
        statusAt: base,
        ...over,
      });
    }
    await appendJustifications(gw.deps, tenantId, drafts);
  }
}
