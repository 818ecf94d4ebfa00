import type { EngagementKind } from "../../domain/vocabulary.js";
import type { Deps } from "../deps.js";
import {
  assertHappened,
  newEvidence,
  type RecordedEvidence,
  subjectOf,
  writeEvidence,
} from "./rows.js";

export interface RecordEngagementInput {
  email: string;
  kind: EngagementKind;
  at: number;
}

/** Records an open, click or visit: it keeps consent fresh (docs/design.md §3 rule 4). */
export async function recordEngagement(
  deps: Deps,
  tenantId: string,
  input: RecordEngagementInput,
): Promise<RecordedEvidence[]> {
  const subject = await subjectOf(deps, tenantId, input.email);
  assertHappened(deps, input.at, "/at");
  const row = newEvidence(deps, subject, {
    kind: "engagement",
    at: input.at,
    data: { engagement: input.kind },
  });
  return writeEvidence(deps, subject, undefined, [row]);
}
