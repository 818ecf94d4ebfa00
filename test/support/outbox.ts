import { eq, inArray } from "drizzle-orm";
import { readOutbox } from "../../src/adapters/outbox.js";
import type { Database } from "../../src/db/database.js";
import { justifications, outbox } from "../../src/db/schema.js";

/** The local outbox's copies of one message, one per recipient it was delivered to, newest first. */
export function outboxOfMessage(db: Database, messageId: string) {
  return readOutbox(
    db,
    inArray(
      outbox.justificationId,
      db
        .select({ id: justifications.id })
        .from(justifications)
        .where(eq(justifications.messageId, messageId)),
    ),
  );
}
