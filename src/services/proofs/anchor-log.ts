import { utf8ToBytes } from "@noble/hashes/utils.js";
import { and, eq, max, sql } from "drizzle-orm";
import { logCheckpoints, logHeads } from "../../db/schema.js";
import { toBase64 } from "../../domain/proof/base64.js";
import { splitNote } from "../../domain/proof/signed-note.js";
import { readTimestampResponse, timestampRequest } from "../../domain/proof/timestamp.js";
import type { Deps } from "../deps.js";
import { latestCheckpoint } from "./log-store.js";

/** docs/design.md §5 `anchoring.intervalMinutes`' default. */
export const DEFAULT_ANCHOR_INTERVAL_MINUTES = 60;

/** A TSA that does not answer within this long is tried again at the next round. */
const TSA_TIMEOUT_MS = 15_000;

export type AnchorResult =
  | { anchored: true; size: number; anchoredAt: number; already: boolean }
  | { anchored: false; reason: "no-tsa" | "empty-log" | "tsa-failed"; detail?: string };

/**
 * Anchors the tenant's latest checkpoint (docs/design.md §6, "Anchoring"): asks the
 * RFC 3161 authority at TSA_URL to time-stamp SHA-256 of the checkpoint's
 * note text, checks the answer is a token for this very request, and keeps
 * it with the checkpoint. Nothing happens when TSA_URL is unset.
 */
export async function anchorLog(deps: Deps, tenantId: string): Promise<AnchorResult> {
  if (!deps.tsaUrl) return { anchored: false, reason: "no-tsa" };
  const latest = await latestCheckpoint(deps, tenantId);
  if (!latest) return { anchored: false, reason: "empty-log" };
  if (latest.anchor !== null && latest.anchoredAt !== null) {
    return { anchored: true, size: latest.size, anchoredAt: latest.anchoredAt, already: true };
  }
  const text = splitNote(latest.note)?.text;
  if (!text) return { anchored: false, reason: "tsa-failed", detail: "unreadable checkpoint" };
  const message = utf8ToBytes(text);
  const nonce = crypto.getRandomValues(new Uint8Array(8));
  let answer: Uint8Array;
  try {
    const response = await fetch(deps.tsaUrl, {
      method: "POST",
      headers: { "content-type": "application/timestamp-query" },
      body: timestampRequest(message, nonce),
      signal: AbortSignal.timeout(TSA_TIMEOUT_MS),
    });
    if (!response.ok) {
      return { anchored: false, reason: "tsa-failed", detail: `HTTP ${response.status}` };
    }
    answer = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return {
      anchored: false,
      reason: "tsa-failed",
      detail: error instanceof Error ? error.name : "network error",
    };
  }
  const read = readTimestampResponse(answer, message, nonce);
  if (!read.ok) return { anchored: false, reason: "tsa-failed", detail: read.problem };
  const anchoredAt = deps.clock();
  await deps.db
    .update(logCheckpoints)
    .set({ anchor: toBase64(read.token), anchoredAt })
    .where(and(eq(logCheckpoints.tenantId, tenantId), eq(logCheckpoints.size, latest.size)));
  return { anchored: true, size: latest.size, anchoredAt, already: false };
}

/**
 * Anchors every log that grew since its last anchor, once that anchor is
 * `intervalMinutes` old (docs/design.md §6: at least every interval while the log
 * grew). Run by the Node scheduler and the Workers cron; a TSA that fails is
 * tried again next time.
 */
export async function anchorDueLogs(
  deps: Deps,
  intervalMinutes = DEFAULT_ANCHOR_INTERVAL_MINUTES,
): Promise<AnchorResult[]> {
  if (!deps.tsaUrl) return [];
  const due = deps.clock() - intervalMinutes * 60_000;
  const lastAnchor = deps.db
    .select({
      tenantId: logCheckpoints.tenantId,
      at: max(logCheckpoints.anchoredAt).as("anchored_at_last"),
      size: sql<number>`max(case when ${logCheckpoints.anchoredAt} is not null then ${logCheckpoints.size} end)`.as(
        "anchored_size",
      ),
    })
    .from(logCheckpoints)
    .groupBy(logCheckpoints.tenantId)
    .as("last_anchor");
  const tenants = await deps.db
    .select({ tenantId: logHeads.tenantId })
    .from(logHeads)
    .leftJoin(lastAnchor, eq(lastAnchor.tenantId, logHeads.tenantId))
    .where(
      sql`(${lastAnchor.at} is null or (${lastAnchor.at} <= ${due} and ${lastAnchor.size} < ${logHeads.size}))`,
    );
  const results: AnchorResult[] = [];
  for (const { tenantId } of tenants) results.push(await anchorLog(deps, tenantId));
  return results;
}
