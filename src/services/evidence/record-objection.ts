import { ALL_MARKETING, type ObjectionChannel } from "../../domain/vocabulary.js";
import { ProblemError } from "../../problems.js";
import type { Deps } from "../deps.js";
import { requireTopics } from "../topics.js";
import {
  assertHappened,
  newEvidence,
  type RecordedEvidence,
  subjectOf,
  writeEvidence,
} from "./rows.js";

export interface RecordObjectionInput {
  email: string;
  /** Topic ids, or ["*"] for all marketing. */
  topics: string[];
  channel: ObjectionChannel;
  receivedAt: number;
  note?: string | undefined;
}

/**
 * Records an objection to direct marketing (GDPR Art. 21(2)–(3)): from now on
 * the data may no longer be processed for that purpose. It is durable once
 * this returns.
 */
export async function recordObjection(
  deps: Deps,
  tenantId: string,
  input: RecordObjectionInput,
): Promise<RecordedEvidence[]> {
  const subject = await subjectOf(deps, tenantId, input.email);
  const topics = [...new Set(input.topics)];
  if (topics.includes(ALL_MARKETING) && topics.length > 1) {
    throw new ProblemError("invalid-request", {
      detail: 'An objection is to listed topics or to all marketing ("*"), not both.',
      errors: [{ pointer: "/topics", detail: '"*" must stand alone' }],
    });
  }
  await requireTopics(deps, tenantId, topics, { allowAll: true });
  assertHappened(deps, input.receivedAt, "/receivedAt");
  const rows = topics.map((topic) =>
    newEvidence(deps, subject, {
      kind: "objection",
      topic,
      at: input.receivedAt,
      data: { channel: input.channel },
      personal: input.note ? { note: input.note } : null,
    }),
  );
  return writeEvidence(deps, subject, undefined, rows);
}
