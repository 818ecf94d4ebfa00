import type { SuppressionReason } from "../../domain/vocabulary.js";
import type { Deps } from "../deps.js";
import {
  assertHappened,
  newEvidence,
  type RecordedEvidence,
  subjectOf,
  writeEvidence,
} from "./rows.js";

export interface RecordSuppressionInput {
  email: string;
  reason: SuppressionReason;
  at?: number | undefined;
  note?: string | undefined;
}

/**
 * Records an address-level suppression: a hard bounce, a spam complaint (an
 * objection to all marketing) or a restriction of processing (GDPR Art. 18).
 */
export async function recordSuppression(
  deps: Deps,
  tenantId: string,
  input: RecordSuppressionInput,
): Promise<RecordedEvidence[]> {
  const subject = await subjectOf(deps, tenantId, input.email);
  const at = input.at ?? deps.clock();
  assertHappened(deps, at, "/at");
  const row = newEvidence(deps, subject, {
    kind: "suppression",
    at,
    data: { reason: input.reason },
    personal: input.note ? { note: input.note } : null,
  });
  return writeEvidence(deps, subject, undefined, [row]);
}
