import { eq } from "drizzle-orm";
import { tenants } from "../../db/schema.js";
import type { Topic } from "../../domain/topic.js";
import { verifyUnsubscribeToken } from "../../domain/unsubscribe-token.js";
import type { Deps } from "../deps.js";
import type { SubjectRef } from "../evidence/rows.js";
import type { TenantRow } from "../tenant.js";
import { findTopic } from "../topics.js";

/** What a genuine unsubscribe link (`/u/TOKEN`) stands for. */
export interface UnsubscribeLink {
  tenant: TenantRow;
  /** Known by its key only: the token never carries the address. */
  subject: SubjectRef;
  /** The marketing topic of the message the link came in. */
  topic: Topic;
  messageId: string;
  issuedAt: number;
}

/**
 * Opens an unsubscribe link: a genuine, unexpired token (verified without a
 * database read) of an existing tenant, for one of its marketing topics. A
 * forged, damaged or expired token, or one of a tenant this gateway does not
 * have (another installation's), is null — the same for all, so the answer
 * reveals nothing about any address (docs/design.md §5).
 */
export async function openUnsubscribeLink(
  deps: Deps,
  token: string,
): Promise<UnsubscribeLink | null> {
  const payload = verifyUnsubscribeToken(deps.tokenKey, token, deps.clock());
  if (!payload) return null;
  const tenant = await deps.db.query.tenants.findFirst({
    where: eq(tenants.id, payload.tenantId),
  });
  if (!tenant) return null;
  const topic = await findTopic(deps, tenant.id, payload.topic);
  if (topic?.class !== "marketing") return null;
  return {
    tenant,
    subject: { tenantId: tenant.id, subjectKey: payload.subjectKey, email: null },
    topic,
    messageId: payload.messageId,
    issuedAt: payload.issuedAt,
  };
}
