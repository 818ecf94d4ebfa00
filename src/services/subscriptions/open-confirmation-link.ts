import { and, eq, inArray } from "drizzle-orm";
import { evidence, tenants } from "../../db/schema.js";
import { verifyConfirmToken } from "../../domain/confirm-token.js";
import type { Topic } from "../../domain/topic.js";
import type { Deps } from "../deps.js";
import type { SubjectRef } from "../evidence/rows.js";
import { storedEvidenceColumns } from "../subject-facts.js";
import type { TenantRow } from "../tenant.js";
import { listTopics } from "../topics.js";

/** A pending consent of the request, and whether it has been confirmed. */
export interface PendingGrant {
  id: string;
  topic: string;
  at: number;
  confirmed: boolean;
}

/** What a genuine confirmation link (`/c/TOKEN`) stands for. */
export interface ConfirmationLink {
  tenant: TenantRow;
  subject: SubjectRef;
  subscriptionId: string;
  grants: PendingGrant[];
  /** The topics asked for, as the page names them. */
  topics: Topic[];
  /** Until when it may be confirmed (epoch ms). */
  confirmBy: number;
  status: "pending" | "confirmed" | "expired";
}

/**
 * Opens a confirmation link: a genuine token (confirmation key, not the
 * unsubscribe key) of an existing tenant whose subscription request is on
 * record, and was not wiped out by a later erasure. Otherwise null, the same
 * for every reason.
 */
export async function openConfirmationLink(
  deps: Deps,
  token: string,
): Promise<ConfirmationLink | null> {
  const now = deps.clock();
  const payload = verifyConfirmToken(deps.confirmTokenKey, token, now);
  if (!payload) return null;
  const tenant = await deps.db.query.tenants.findFirst({
    where: eq(tenants.id, payload.tenantId),
  });
  if (!tenant) return null;
  const rows = await deps.db
    .select(storedEvidenceColumns)
    .from(evidence)
    .where(
      and(
        eq(evidence.tenantId, tenant.id),
        eq(evidence.subjectKey, payload.subjectKey),
        inArray(evidence.kind, ["consent-granted", "consent-confirmed", "erasure"]),
      ),
    );
  const requested = rows.filter(
    (row) => row.kind === "consent-granted" && row.data.subscriptionId === payload.subscriptionId,
  );
  if (requested.length === 0) return null;
  const requestedAt = Math.min(...requested.map((row) => row.occurredAt));
  // GDPR Art. 17: after an erasure the request is gone with the rest.
  if (rows.some((row) => row.kind === "erasure" && row.occurredAt >= requestedAt)) return null;
  const confirmedIds = new Set(
    rows.flatMap((row) =>
      row.kind === "consent-confirmed" && typeof row.data.consentId === "string"
        ? [row.data.consentId]
        : [],
    ),
  );
  const grants = requested.map((row) => ({
    id: row.id,
    topic: row.topic ?? "",
    at: row.occurredAt,
    confirmed: confirmedIds.has(row.id),
  }));
  const confirmBy = Math.min(
    ...requested.map((row) => (typeof row.data.confirmBy === "number" ? row.data.confirmBy : 0)),
  );
  const byId = new Map((await listTopics(deps, tenant.id)).map((topic) => [topic.id, topic]));
  const topics = grants.flatMap((grant) => {
    const topic = byId.get(grant.topic);
    return topic ? [topic] : [];
  });
  const status = grants.every((grant) => grant.confirmed)
    ? "confirmed"
    : now > confirmBy
      ? "expired"
      : "pending";
  return {
    tenant,
    subject: { tenantId: tenant.id, subjectKey: payload.subjectKey, email: null },
    subscriptionId: payload.subscriptionId,
    grants,
    topics,
    confirmBy,
    status,
  };
}
