import { eq } from "drizzle-orm";
import { tenantSettings } from "../../db/schema.js";
import { inboundParseKey } from "../../domain/inbound-mail.js";
import type { Deps } from "../deps.js";
import type { TenantRow } from "../tenant.js";

export type TenantSettingsRow = typeof tenantSettings.$inferSelect;

/**
 * The additional data under which a tenant's SendGrid API key is sealed: a
 * ciphertext opens only for this tenant and this field (domain/secret-box.ts).
 */
export function apiKeyContext(tenantId: string): string {
  return `tenant:${tenantId}:sendgrid-api-key`;
}

export async function loadSettingsRow(
  deps: Deps,
  tenantId: string,
): Promise<TenantSettingsRow | null> {
  const row = await deps.db.query.tenantSettings.findFirst({
    where: eq(tenantSettings.tenantId, tenantId),
  });
  return row ?? null;
}

/** The SendGrid mappings of a tenant (the v3 drop-in chooses a topic with them). */
export interface SendGridMapping {
  /** ASM group id (as a decimal string) → topic id. */
  asmGroups: Record<string, string>;
  /** Category → topic id. */
  categories: Record<string, string>;
}

export async function tenantSendGridMapping(
  deps: Deps,
  tenantId: string,
): Promise<SendGridMapping> {
  const row = await loadSettingsRow(deps, tenantId);
  return { asmGroups: row?.asmGroupTopics ?? {}, categories: row?.categoryTopics ?? {} };
}

/**
 * Settings as `GET /v1/settings` shows them (docs/design.md §5). Secrets are
 * write-only: for the API key, only whether one is set and since when.
 */
export interface SettingsView {
  /** Outbound webhooks: where the tenant's tools are told what recipients did. */
  webhooks: { url: string; events: string[] }[];
  sendgrid: {
    apiKey: { set: boolean; setAt: string | null };
    webhookPublicKey: string | null;
    /** Where to point SendGrid's Event Webhook for this tenant. */
    webhookUrl: string;
    /** Where SendGrid's Inbound Parse posts mail to the unsubscribe address (its key included). */
    inboundParseUrl: string;
    asmGroups: Record<string, string>;
    categories: Record<string, string>;
  };
  retention: {
    proofDays: number;
    /** Null: the law's limit (the rule set's), untightened. */
    consentLifetimeMonths: number | null;
    softOptInMonths: number | null;
  };
}

export function settingsView(
  deps: Deps,
  tenant: TenantRow,
  row: TenantSettingsRow | null,
): SettingsView {
  const setAt = row?.sendgridApiKeyCiphertext ? row.sendgridApiKeySetAt : null;
  return {
    webhooks: row?.webhooks ?? [],
    sendgrid: {
      apiKey: {
        set: Boolean(row?.sendgridApiKeyCiphertext),
        setAt: setAt != null ? new Date(setAt).toISOString() : null,
      },
      webhookPublicKey: row?.webhookPublicKey ?? null,
      webhookUrl: `${deps.publicUrl.replace(/\/+$/, "")}/webhooks/sendgrid/${encodeURIComponent(tenant.id)}`,
      inboundParseUrl: `${deps.publicUrl.replace(/\/+$/, "")}/inbound/sendgrid/${encodeURIComponent(tenant.id)}?key=${inboundParseKey(deps.settingsKey, tenant.id)}`,
      asmGroups: row?.asmGroupTopics ?? {},
      categories: row?.categoryTopics ?? {},
    },
    retention: {
      proofDays: tenant.proofRetentionDays,
      consentLifetimeMonths: tenant.consentLifetimeMonths,
      softOptInMonths: tenant.softOptInMonths,
    },
  };
}
