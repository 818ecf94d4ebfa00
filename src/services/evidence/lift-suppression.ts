import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { evidence } from "../../db/schema.js";
import { LIFTABLE_SUPPRESSIONS, type SuppressionReason } from "../../domain/vocabulary.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { newEvidence, type RecordedEvidence, subjectOf, writeEvidence } from "./rows.js";

/**
 * Lifts a restriction (GDPR Art. 18(3)) or a hard bounce (the mailbox works
 * again). A spam complaint is an objection, which only the person's fresh
 * consent overrides, and an erasure only a fresh opt-in: neither is lifted here.
 */
export async function liftSuppression(
  deps: Deps,
  tenantId: string,
  email: string,
  reason: string,
): Promise<RecordedEvidence[]> {
  if (!(LIFTABLE_SUPPRESSIONS as readonly string[]).includes(reason)) {
    throw new ProblemError("suppression-not-liftable", {
      detail:
        reason === "spam-complaint"
          ? "A spam complaint is an objection to all marketing; only a fresh consent overrides it."
          : reason === "erased"
            ? "An erasure is lifted only by a fresh opt-in."
            : `Only ${LIFTABLE_SUPPRESSIONS.join(" and ")} suppressions can be lifted.`,
    });
  }
  const subject = await subjectOf(deps, tenantId, email, "/email");
  const [last] = await deps.db
    .select({ kind: evidence.kind, occurredAt: evidence.occurredAt })
    .from(evidence)
    .where(
      and(
        eq(evidence.tenantId, tenantId),
        eq(evidence.subjectKey, subject.subjectKey),
        inArray(evidence.kind, ["suppression", "suppression-lifted"]),
        sql`json_extract(${evidence.data}, '$.reason') = ${reason}`,
      ),
    )
    // At the same instant a suppression outranks its lifting, as in the decision.
    .orderBy(desc(evidence.occurredAt), asc(evidence.kind))
    .limit(1);
  if (last?.kind !== "suppression") {
    throw new ProblemError("suppression-not-found", {
      detail: `There is no active ${reason} suppression for this address.`,
    });
  }
  const row = newEvidence(deps, subject, {
    kind: "suppression-lifted",
    // The lifting follows the suppression it lifts. At the same instant (or
    // before a suppression dated a little ahead, within the allowed skew) the
    // decision would rank the suppression last and the lift would be void.
    at: Math.max(deps.clock(), last.occurredAt + 1),
    data: { reason: reason as SuppressionReason },
  });
  return writeEvidence(deps, subject, undefined, [row]);
}
