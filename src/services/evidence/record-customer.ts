import type { CustomerKind } from "../../domain/vocabulary.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import {
  assertHappened,
  newEvidence,
  type RecordedEvidence,
  type SubjectFactsInput,
  subjectOf,
  writeEvidence,
} from "./rows.js";

export interface RecordCustomerInput {
  email: string;
  kind: CustomerKind;
  since: number;
  /** The last purchase, or for an inquiry the inquiry. */
  lastPurchaseAt: number;
  categories: string[];
  optOutOfferedAt?: number | undefined;
  subject?: SubjectFactsInput | undefined;
}

/**
 * Records a customer relationship: the ground for the soft opt-in (ePrivacy
 * Art. 13(2), Act 480/2004 §7(3)) and for CASL's implied consent.
 */
export async function recordCustomer(
  deps: Deps,
  tenantId: string,
  input: RecordCustomerInput,
): Promise<RecordedEvidence[]> {
  const subject = await subjectOf(deps, tenantId, input.email);
  assertHappened(deps, input.since, "/since");
  assertHappened(deps, input.lastPurchaseAt, "/lastPurchaseAt");
  if (input.lastPurchaseAt < input.since) {
    throw new ProblemError("invalid-request", {
      detail: "The last purchase cannot precede the start of the relationship.",
      errors: [{ pointer: "/lastPurchaseAt", detail: "must not be before since" }],
    });
  }
  if (input.optOutOfferedAt !== undefined)
    assertHappened(deps, input.optOutOfferedAt, "/optOutOfferedAt");
  const row = newEvidence(deps, subject, {
    kind: "customer",
    at: input.lastPurchaseAt,
    data: {
      relationship: input.kind,
      since: input.since,
      lastAt: input.lastPurchaseAt,
      categories: [...new Set(input.categories.map((c) => c.trim()))],
      optOutOfferedAt: input.optOutOfferedAt ?? null,
    },
  });
  return writeEvidence(deps, subject, input.subject, [row]);
}
