import { sha256Hex } from "../../domain/digest.js";
import type { Topic } from "../../domain/topic.js";
import { ALL_MARKETING } from "../../domain/vocabulary.js";
import type { Deps } from "../deps.js";
import {
  type EvidenceInsert,
  newEvidence,
  type RecordedEvidence,
  sourcePersonal,
  writeEvidence,
} from "../evidence/rows.js";
import type { RequestSource } from "./one-click-unsubscribe.js";
import type { UnsubscribeLink } from "./open-unsubscribe-link.js";
import { type PreferenceState, preferenceState } from "./preference-state.js";

/** The exact words the person was shown for a choice, and their version. */
export interface ShownWording {
  version: string;
  text: string;
}

/** What the person did on the preference page. */
export type PreferenceAction =
  /** The page's one button: stop the link's topic. */
  | { kind: "unsubscribe"; wording: ShownWording }
  /** "Unsubscribe from everything": all marketing, `*`. */
  | { kind: "unsubscribe-all"; wording: ShownWording }
  /** The topics form: the ids of the topics ticked, every other one unticked. */
  | {
      kind: "save";
      receive: readonly string[];
      /** The words shown beside a ticked topic (the consent's wording). */
      grantWording: (topic: Topic) => ShownWording;
      /** The words shown beside an unticked topic. */
      objectionWording: (topic: Topic) => ShownWording;
    };

export interface PreferenceChange {
  /** The evidence recorded; empty when nothing changed. */
  recorded: RecordedEvidence[];
  /** The state after the change, as the page shows it next. */
  state: PreferenceState;
}

/**
 * Records what the person chose on the preference page (`/u/TOKEN`), each
 * change as evidence with channel/method `preference-center`, the time, the
 * anonymised IP and the wording shown (its version and SHA-256):
 *
 * - stopping a topic, or everything, is an objection to direct marketing
 *   (GDPR Art. 21(2)–(3)); it also ends a consent for it (the decision lets
 *   only a later consent override an objection, docs/design.md §3 rule 3), as a
 *   withdrawal must be as easy as giving it (Art. 7(3));
 * - ticking a topic not received is a fresh consent (Art. 7(1): the wording
 *   is kept to demonstrate it). It counts as confirmed: the link came in a
 *   mail delivered to this very address, which is what a double opt-in's
 *   confirmation link proves too.
 *
 * A save records only what differs from the current state (the decision's
 * answer per topic); topics the tenant does not have are ignored.
 */
export async function changePreferences(
  deps: Deps,
  link: UnsubscribeLink,
  action: PreferenceAction,
  source: RequestSource,
): Promise<PreferenceChange> {
  const now = deps.clock();
  const personal = sourcePersonal(source);
  const rows: EvidenceInsert[] = [];
  const objection = async (topic: string, wording: ShownWording) =>
    newEvidence(deps, link.subject, {
      kind: "objection",
      topic,
      at: now,
      data: {
        channel: "preference-center",
        messageId: link.messageId,
        ...(await wordingData(wording)),
      },
      personal,
    });

  if (action.kind === "unsubscribe") {
    rows.push(await objection(link.topic.id, action.wording));
  } else if (action.kind === "unsubscribe-all") {
    rows.push(await objection(ALL_MARKETING, action.wording));
  } else {
    const before = await preferenceState(deps, link);
    const wanted = new Set(action.receive);
    for (const { topic, receiving } of before.topics) {
      const ticked = wanted.has(topic.id);
      if (ticked && !receiving && !before.blocked) {
        rows.push(
          newEvidence(deps, link.subject, {
            kind: "consent-granted",
            topic: topic.id,
            at: now,
            data: {
              method: "preference-center",
              ...(await wordingData(action.grantWording(topic))),
              confirmedAt: now,
              messageId: link.messageId,
            },
            personal,
          }),
        );
      } else if (!ticked && receiving) {
        rows.push(await objection(topic.id, action.objectionWording(topic)));
      }
    }
  }
  const recorded = rows.length > 0 ? await writeEvidence(deps, link.subject, undefined, rows) : [];
  return { recorded, state: await preferenceState(deps, link) };
}

async function wordingData(wording: ShownWording) {
  return { wordingVersion: wording.version, wordingSha256: await sha256Hex(wording.text) };
}
