import { sha256Hex } from "../../domain/digest.js";
import type { ConsentMethod } from "../../domain/vocabulary.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { requireTopics } from "../topics.js";
import {
  assertHappened,
  type EvidenceInsert,
  newEvidence,
  type RecordedEvidence,
  type SubjectFactsInput,
  sourcePersonal,
  subjectOf,
  writeEvidence,
} from "./rows.js";

export interface RecordConsentInput {
  email: string;
  topics: string[];
  action: "grant" | "withdraw";
  collectedAt: number;
  source: {
    method: ConsentMethod;
    url?: string | undefined;
    ip?: string | undefined;
    userAgent?: string | undefined;
  };
  wording?: { version: string; text: string } | undefined;
  confirmedAt?: number | undefined;
  confirmIp?: string | undefined;
  subject?: SubjectFactsInput | undefined;
}

/**
 * Records consent granted or withdrawn, one event per topic. A grant must say
 * what the person was shown (GDPR Art. 7(1): the controller must be able to
 * demonstrate consent): the wording's version and its SHA-256 are kept.
 */
export async function recordConsent(
  deps: Deps,
  tenantId: string,
  input: RecordConsentInput,
): Promise<RecordedEvidence[]> {
  const subject = await subjectOf(deps, tenantId, input.email);
  await requireTopics(deps, tenantId, input.topics, { marketingOnly: true });
  assertHappened(deps, input.collectedAt, "/collectedAt");
  if (input.action === "grant" && !input.wording) {
    throw new ProblemError("invalid-request", {
      detail: "A consent grant must carry the wording the person was shown.",
      errors: [{ pointer: "/wording", detail: "required when action is grant" }],
    });
  }
  if (input.confirmedAt !== undefined) {
    assertHappened(deps, input.confirmedAt, "/confirmedAt");
    if (input.confirmedAt < input.collectedAt) {
      throw new ProblemError("invalid-request", {
        detail: "A consent cannot be confirmed before it was given.",
        errors: [{ pointer: "/confirmedAt", detail: "must not be before collectedAt" }],
      });
    }
  }
  const wording = input.wording
    ? { wordingVersion: input.wording.version, wordingSha256: await sha256Hex(input.wording.text) }
    : {};
  const personal = {
    ...sourcePersonal(input.source),
    ...(input.confirmIp ? { confirmIp: sourcePersonal({ ip: input.confirmIp }).ip } : {}),
  };
  const rows: EvidenceInsert[] = [...new Set(input.topics)].map((topic) =>
    newEvidence(deps, subject, {
      kind: input.action === "grant" ? "consent-granted" : "consent-withdrawn",
      topic,
      at: input.collectedAt,
      data: {
        method: input.source.method,
        ...wording,
        ...(input.action === "grant" ? { confirmedAt: input.confirmedAt ?? null } : {}),
      },
      personal,
    }),
  );
  return writeEvidence(deps, subject, input.subject, rows);
}
