import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import { insertBoundRows } from "../db/bound-rows.js";
import type { Database } from "../db/database.js";
import { outbox, outboxMails } from "../db/schema.js";
import { applySubstitutions } from "../domain/compliance/index.js";
import { newId } from "../domain/ids.js";
import type {
  DeliveryOutcome,
  MailProvider,
  OutgoingMail,
  SendOptions,
} from "../services/delivery/provider.js";

/**
 * The local outbox: with no SendGrid key, messages are kept as SendGrid
 * would have received them — the content once per call, and per recipient
 * the addressing, headers and substitutions — in one atomic batch. Each
 * recipient's copy is rendered when the outbox is read (`readOutbox`),
 * substitutions applied as SendGrid applies them, and can be seen at
 * `/outbox`.
 */
export function createOutboxProvider(db: Database, clock: () => number): MailProvider {
  return {
    name: "outbox",
    async send(mail: OutgoingMail, options: SendOptions = {}): Promise<DeliveryOutcome> {
      const now = clock();
      const tenantId = options.tenantId ?? "";
      const mailId = newId("outmail", now);
      const from = mail.from.name ? `${mail.from.name} <${mail.from.email}>` : mail.from.email;
      // Everything else of the call, kept as SendGrid would have received it: nothing a
      // caller gave is lost on the way to the outbox either.
      const { personalizations: _p, content: _c, from: _f, subject: _s, ...rest } = mail;
      const rows = mail.personalizations.flatMap((p) =>
        p.to.map((to) => {
          const substitutions = p.substitutions ?? {};
          return {
            id: newId("out", now),
            tenantId,
            justificationId: p.custom_args?.justification_id ?? null,
            to: to.name ? `${to.name} <${to.email}>` : to.email,
            from,
            subject: applySubstitutions(mail.subject, substitutions),
            headers: { ...mail.headers, ...p.headers },
            text: null,
            html: null,
            createdAt: now,
            mailId,
            substitutions,
          };
        }),
      );
      await db.batch([
        db.insert(outboxMails).values({
          id: mailId,
          tenantId,
          text: mail.content.find((c) => c.type === "text/plain")?.value ?? "",
          html: mail.content.find((c) => c.type === "text/html")?.value ?? null,
          createdAt: now,
          fields: Object.keys(rest).length > 0 ? rest : null,
        }),
        ...insertBoundRows(outbox, rows).map((insert) => db.run(insert)),
      ]);
      return { status: "accepted", providerMessageId: `outbox-${newId("batch", now)}` };
    },
  };
}

/** One recipient's copy in the outbox, rendered as it would have been delivered. */
export interface OutboxMessage {
  id: string;
  tenantId: string;
  justificationId: string | null;
  to: string;
  from: string;
  subject: string;
  headers: Record<string, string>;
  text: string;
  html: string | null;
  createdAt: number;
  /** The call's other fields (attachments, reply_to_list, batch_id, …); {} for rows from before. */
  fields: Record<string, unknown>;
}

/**
 * Outbox messages matching `where`, newest first, each rendered from its
 * call's content with its own substitutions.
 */
export async function readOutbox(
  db: Database,
  where: SQL | undefined,
  limit?: number,
): Promise<OutboxMessage[]> {
  const query = db
    .select({
      row: outbox,
      mail: { text: outboxMails.text, html: outboxMails.html, fields: outboxMails.fields },
    })
    .from(outbox)
    .leftJoin(outboxMails, eq(outboxMails.id, outbox.mailId))
    .where(where)
    .orderBy(desc(outbox.id));
  const found = limit === undefined ? await query : await query.limit(limit);
  return found.map(({ row, mail }) => {
    const { mailId: _mail, substitutions, text, html, ...rest } = row;
    if (!mail) return { ...rest, text: text ?? "", html, fields: {} };
    const values = substitutions ?? {};
    return {
      ...rest,
      text: applySubstitutions(mail.text, values),
      html: mail.html === null ? null : applySubstitutions(mail.html, values),
      fields: mail.fields ?? {},
    };
  });
}

/** A tenant's outbox, a page at a time (`before`: the last id of the page before). */
export function readTenantOutbox(
  db: Database,
  tenantId: string,
  page: { limit: number; before?: string | undefined },
): Promise<OutboxMessage[]> {
  return readOutbox(
    db,
    and(eq(outbox.tenantId, tenantId), page.before ? lt(outbox.id, page.before) : undefined),
    page.limit,
  );
}
