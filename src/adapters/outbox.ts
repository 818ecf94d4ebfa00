import type { Database } from "../db/database.js";
import { insertJsonRows } from "../db/json-rows.js";
import { outbox } from "../db/schema.js";
import { applySubstitutions } from "../domain/compliance/index.js";
import { newId } from "../domain/ids.js";
import type {
  DeliveryOutcome,
  MailProvider,
  OutgoingMail,
  SendOptions,
} from "../services/delivery/provider.js";

const ROWS_PER_INSERT = 1000;

/**
 * The local outbox: with no SendGrid key, messages are stored as they would
 * have been delivered — one rendered message per recipient, substitutions
 * applied as SendGrid applies them — and can be read at `/outbox`.
 */
export function createOutboxProvider(db: Database, clock: () => number): MailProvider {
  return {
    name: "outbox",
    async send(mail: OutgoingMail, options: SendOptions = {}): Promise<DeliveryOutcome> {
      const now = clock();
      const text = mail.content.find((c) => c.type === "text/plain")?.value ?? "";
      const html = mail.content.find((c) => c.type === "text/html")?.value ?? null;
      const rows = mail.personalizations.flatMap((p) =>
        p.to.map((to) => {
          const substitutions = p.substitutions ?? {};
          return {
            id: newId("out", now),
            tenantId: options.tenantId ?? "",
            justificationId: p.custom_args?.justification_id ?? null,
            to: to.name ? `${to.name} <${to.email}>` : to.email,
            from: mail.from.name ? `${mail.from.name} <${mail.from.email}>` : mail.from.email,
            subject: applySubstitutions(mail.subject, substitutions),
            headers: { ...mail.headers, ...p.headers },
            text: applySubstitutions(text, substitutions),
            html: html === null ? null : applySubstitutions(html, substitutions),
            createdAt: now,
          };
        }),
      );
      for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
        await db.run(insertJsonRows(outbox, rows.slice(start, start + ROWS_PER_INSERT)));
      }
      return { status: "accepted", providerMessageId: `outbox-${newId("batch", now)}` };
    },
  };
}
