import { and, eq, sql } from "drizzle-orm";
import {
  dsrRequests,
  evidence,
  idempotencyKeys,
  justifications,
  messages,
  outbox,
  subjects,
} from "../../db/schema.js";
import { normaliseAddress } from "../../domain/address.js";
import type { Deps } from "../deps.js";
import { dsrRequestRow } from "../subjects/dsr-requests.js";
import { appendEvidence } from "./append-evidence.js";
import { newEvidence, type RecordedEvidence, recorded, subjectOf } from "./rows.js";

/**
 * Erasure (GDPR Art. 17): the subject's personal data is removed — the
 * address as given, its facts, the personal part of every evidence event,
 * the address kept beside each justification, and the copies of mail sent to
 * it in the local outbox, and its entry in the recipients kept with each
 * message (for a scheduled send or a resumed one) — and a tombstone remains, keyed by the keyed hash
 * of the address, so the address is never mailed again without a fresh
 * opt-in (docs/design.md §3 rule 1). The evidence rows and justifications
 * themselves stay: they hold no address, only its keyed hash, and neither
 * the address column of a justification nor the personal part of evidence
 * is hashed, so every chain still verifies (docs/design.md §6). The request is
 * recorded with its date and its one-month deadline (Art. 12(3)), done at
 * once, in the same atomic batch.
 */
export async function eraseSubject(
  deps: Deps,
  tenantId: string,
  email: string,
): Promise<RecordedEvidence[]> {
  const subject = await subjectOf(deps, tenantId, email);
  const tombstone = newEvidence(deps, subject, { kind: "erasure", at: deps.clock(), data: {} });
  // How the address may be spelled in a message's recipient list.
  const spellings = JSON.stringify([
    ...new Set([normaliseAddress(email), email.trim().toLowerCase()]),
  ]);
  const ofSubject = (table: typeof evidence | typeof subjects | typeof justifications) =>
    and(eq(table.tenantId, tenantId), eq(table.subjectKey, subject.subjectKey));
  // The tombstone is appended to the evidence chain in the same batch; the
  // personal part cleared here is outside every hash (docs/design.md §6).
  const before = [
    // Stored answers replayed for an Idempotency-Key (24 h) may quote the
    // address (a send's results, an access request): they go, and the key
    // with them — a retry after erasure is a new request. Matched on the
    // lower-cased text, as addresses are compared (ASCII case folding).
    deps.db
      .delete(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.tenantId, tenantId),
          sql`instr(lower(${idempotencyKeys.body}), ${normaliseAddress(email)}) > 0`,
        ),
      ),
    deps.db.update(evidence).set({ personal: null }).where(ofSubject(evidence)),
    deps.db
      .update(subjects)
      .set({
        email: null,
        country: null,
        subscriberType: null,
        birthYear: null,
        ageVerified: null,
        updatedAt: deps.clock(),
      })
      .where(ofSubject(subjects)),
    // Before the justifications lose nothing the outbox is found by: its
    // rows name the justification they were sent under.
    deps.db
      .delete(outbox)
      .where(
        and(
          eq(outbox.tenantId, tenantId),
          sql`${outbox.justificationId} IN (SELECT ${justifications.id} FROM ${justifications} WHERE ${justifications.tenantId} = ${tenantId} AND ${justifications.subjectKey} = ${subject.subjectKey})`,
        ),
      ),
    deps.db.update(justifications).set({ email: null }).where(ofSubject(justifications)),
    // The recipient lists kept with messages hold the address (and a name,
    // data): the entry goes. A scheduled send then never reaches the
    // address; an in-flight one re-checks each recipient before handing
    // and finds the tombstone. SQLite's lower() folds ASCII only, as the
    // addresses of nearly all lists are; an internationalised address is
    // matched as given lower-cased and in its normalised (punycode) form.
    deps.db
      .update(messages)
      .set({
        request: sql`json_set(${messages.request}, '$.recipients', (SELECT json_group_array(json(value)) FROM json_each(${messages.request}, '$.recipients') WHERE lower(trim(json_extract(value, '$.email'))) NOT IN (SELECT value FROM json_each(${spellings}))))`,
      })
      .where(
        and(
          eq(messages.tenantId, tenantId),
          sql`EXISTS (SELECT 1 FROM json_each(${messages.request}, '$.recipients') WHERE lower(trim(json_extract(value, '$.email'))) IN (SELECT value FROM json_each(${spellings})))`,
        ),
      ),
  ];
  return appendEvidence(deps, tenantId, () => ({
    before,
    evidence: [tombstone],
    after: [
      deps.db
        .insert(dsrRequests)
        .values(dsrRequestRow(deps, tenantId, subject.subjectKey, "erasure", true)),
    ],
    result: recorded([tombstone]),
    erasedAddress: email.trim(),
  }));
}
