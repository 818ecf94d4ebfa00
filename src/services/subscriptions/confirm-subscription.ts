import type { Deps } from "../deps.js";
import {
  newEvidence,
  type RecordedEvidence,
  sourcePersonal,
  writeEvidence,
} from "../evidence/rows.js";
import type { RequestSource } from "../preferences/one-click-unsubscribe.js";
import type { ConfirmationLink } from "./open-confirmation-link.js";

/**
 * Confirms a double opt-in (`POST /c/TOKEN`): one `consent-confirmed` event
 * per pending consent of the request, with the time and the confirming IP
 * (anonymised). The decision then counts the consent as confirmed (docs/design.md §3
 * rule 4; UWG §7 for `de`). A link past its expiry confirms nothing; a
 * request confirmed already is not confirmed twice.
 */
export async function confirmSubscription(
  deps: Deps,
  link: ConfirmationLink,
  source: RequestSource,
): Promise<{ status: ConfirmationLink["status"]; recorded: RecordedEvidence[] }> {
  if (link.status !== "pending") return { status: link.status, recorded: [] };
  const now = deps.clock();
  const ip = sourcePersonal({ ip: source.ip }).ip;
  const personal = {
    ...(ip ? { confirmIp: ip } : {}),
    ...(source.userAgent ? { userAgent: source.userAgent } : {}),
  };
  const rows = link.grants
    .filter((grant) => !grant.confirmed)
    .map((grant) =>
      newEvidence(deps, link.subject, {
        kind: "consent-confirmed",
        topic: grant.topic,
        at: now,
        data: { consentId: grant.id, subscriptionId: link.subscriptionId },
        personal,
      }),
    );
  const recorded = await writeEvidence(deps, link.subject, undefined, rows);
  return { status: "confirmed", recorded };
}
