import { sql } from "drizzle-orm";
import PostalMime from "postal-mime";
import { createOutboxProvider } from "../../adapters/outbox.js";
import { tenants } from "../../db/schema.js";
import { normaliseAddress } from "../../domain/address.js";
import { type InboundMailText, tokenCandidates } from "../../domain/inbound-mail.js";
import type { Deps } from "../deps.js";
import { newEvidence, writeEvidence } from "../evidence/rows.js";
import type { TenantRow } from "../tenant.js";
import { openUnsubscribeLink } from "./open-unsubscribe-link.js";

/** A mail that reached the unsubscribe address, as far as it matters here. */
export interface InboundMail extends InboundMailText {
  /** The sender as the message gives it, for the staff's copy only (never stored as evidence). */
  from?: string | undefined;
}

/**
 * Reads a raw RFC 5322 message (plain, quoted-printable, base64, multipart,
 * a forwarded message) with postal-mime, which runs on Node and in workerd
 * alike: the decoded subject (RFC 2047 words), text and HTML.
 */
export async function readRawMail(raw: string | ArrayBuffer | Uint8Array): Promise<InboundMail> {
  const email = await PostalMime.parse(raw);
  return {
    subject: email.subject,
    text: email.text,
    html: email.html,
    from: email.from?.address,
  };
}

/**
 * The tenant whose unsubscribe address (its contact address, the mailto of
 * `List-Unsubscribe`) `address` is, compared as addresses are; null if none.
 */
export async function tenantOfUnsubscribeAddress(
  deps: Deps,
  address: string,
): Promise<TenantRow | null> {
  const wanted = normaliseAddress(address);
  const found = await deps.db
    .select()
    .from(tenants)
    .where(sql`lower(trim(${tenants.contactEmail})) = ${wanted.toLowerCase()}`);
  return found.find((tenant) => normaliseAddress(tenant.contactEmail) === wanted) ?? null;
}

/** What came of a mail to the unsubscribe address. */
export type MailtoOutcome =
  | { recorded: true; tenantId: string }
  | { recorded: false; kept: boolean };

/**
 * A mailed unsubscribe (docs/design.md §5 `/inbound/sendgrid/{tenant}`, the Email
 * Worker): a mail carrying a genuine unsubscribe token of `tenant` — the
 * mailto of `List-Unsubscribe` puts it in the subject — is an objection to
 * the token's topic, recorded exactly as the one-click POST records it
 * (preferences/one-click-unsubscribe.ts) but with channel `email`, durably
 * before this returns. RFC 8058 and the Gmail/Yahoo bulk-sender rules
 * expect it honoured within two days; here it holds for the next decision.
 *
 * Mail without a genuine token (a question, a reply, a forged or damaged
 * token, another tenant's token) is no evidence of anything: it is kept for
 * the tenant's staff in the outbox (`/outbox`, marked `X-Grounds-Inbound`),
 * whatever the provider, because it may be a person's request that someone
 * must read (GDPR Art. 12(3): a request by e-mail is still a request).
 */
export async function receiveMailtoUnsubscribe(
  deps: Deps,
  tenant: TenantRow,
  mail: InboundMail,
): Promise<MailtoOutcome> {
  for (const candidate of tokenCandidates(mail)) {
    const link = await openUnsubscribeLink(deps, candidate);
    if (!link || link.tenant.id !== tenant.id) continue;
    const row = newEvidence(deps, link.subject, {
      kind: "objection",
      topic: link.topic.id,
      at: deps.clock(),
      data: { channel: "email", messageId: link.messageId },
    });
    await writeEvidence(deps, link.subject, undefined, [row]);
    return { recorded: true, tenantId: tenant.id };
  }
  await keepForStaff(deps, tenant, mail);
  return { recorded: false, kept: true };
}

/**
 * The staff's copy of a mail that is not an unsubscribe, in the outbox the
 * tenant's staff already read (`/outbox`, their key).
 */
async function keepForStaff(deps: Deps, tenant: TenantRow, mail: InboundMail): Promise<void> {
  const outbox = createOutboxProvider(deps.db, deps.clock);
  const text = mail.text?.trim() ? mail.text : "(no text part)";
  await outbox.send(
    {
      from: { email: mail.from?.includes("@") ? mail.from : "unknown@invalid" },
      subject: mail.subject?.trim() ? mail.subject : "(no subject)",
      content: [
        { type: "text/plain", value: text },
        ...(mail.html ? [{ type: "text/html" as const, value: mail.html }] : []),
      ],
      personalizations: [
        {
          to: [{ email: tenant.contactEmail }],
          headers: { "X-Grounds-Inbound": "received at the unsubscribe address; no valid token" },
        },
      ],
    },
    { tenantId: tenant.id },
  );
}
