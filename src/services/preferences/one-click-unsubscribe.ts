import type { Deps } from "../deps.js";
import {
  newEvidence,
  type RecordedEvidence,
  sourcePersonal,
  writeEvidence,
} from "../evidence/rows.js";
import type { UnsubscribeLink } from "./open-unsubscribe-link.js";

/** Where a request came from; the IP is stored anonymised (docs/design.md §2). */
export interface RequestSource {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * The one-click unsubscribe of RFC 8058: a POST of `List-Unsubscribe=One-Click`
 * to the link of the `List-Unsubscribe` header, sent by the mailbox provider
 * on the person's behalf. It is an objection to direct marketing of the
 * link's topic (GDPR Art. 21(2)–(3)), recorded durably before this returns,
 * so it holds for the very next decision — and for the chunks of a send
 * still in flight (messages/deliver-message.ts `recheck`). It needs nothing
 * but the database: the provider being down does not matter.
 *
 * Every POST is recorded, also a repeated one: the evidence is of what was
 * received, and the per-token rate limit bounds the repeats.
 */
export async function oneClickUnsubscribe(
  deps: Deps,
  link: UnsubscribeLink,
  source: RequestSource,
): Promise<RecordedEvidence[]> {
  const row = newEvidence(deps, link.subject, {
    kind: "objection",
    topic: link.topic.id,
    at: deps.clock(),
    data: { channel: "one-click", messageId: link.messageId },
    personal: sourcePersonal(source),
  });
  return writeEvidence(deps, link.subject, undefined, [row]);
}
