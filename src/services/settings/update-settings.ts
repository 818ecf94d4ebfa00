import { eq } from "drizzle-orm";
import { tenantSettings, tenants } from "../../db/schema.js";
import { sealSecret } from "../../domain/secret-box.js";
import { importPublicKey, normalisePublicKey } from "../../domain/sendgrid-signature.js";
import { ProblemError, type ProblemField } from "../../problems.js";
import type { Deps } from "../deps.js";
import { newWebhookSecret, sealWebhookSecret } from "../outbound-webhooks/secret.js";
import { loadTenant, type TenantRow } from "../tenant.js";
import { listTopics } from "../topics.js";
import {
  fieldChange,
  recordSettingsChange,
  type SettingsActor,
  secretChange,
} from "./record-settings-change.js";
import { apiKeyContext, loadSettingsRow, type SettingsView, settingsView } from "./settings.js";

/** A topic per key; `null` removes the key (JSON Merge Patch, RFC 7396). */
type MappingPatch = Record<string, string | null>;

export interface SettingsPatch {
  /** The whole list of outbound webhook endpoints; `null` removes them all. */
  webhooks?: { url: string; events: string[] }[] | null | undefined;
  sendgrid?:
    | {
        /** Stored sealed; `null` removes it. */
        apiKey?: string | null | undefined;
        /** `null` removes it, and the webhook is refused until one is set. */
        webhookPublicKey?: string | null | undefined;
        asmGroups?: MappingPatch | null | undefined;
        categories?: MappingPatch | null | undefined;
      }
    | undefined;
  retention?:
    | {
        proofDays?: number | undefined;
        /** `null`: back to the law's limit. */
        consentLifetimeMonths?: number | null | undefined;
        softOptInMonths?: number | null | undefined;
      }
    | undefined;
}

/** Days a tenant key keeps proofs at least (3 years and a leap day, docs/design.md §5). */
export const PROOF_DAYS_FLOOR = 1096;

/**
 * Retention a tenant may set: only tighter than the law's defaults (docs/design.md
 * §3: consent lifetime and soft opt-in window of 24 months), never looser.
 * The decision also takes the lower of the law's and the tenant's limit.
 */
const LIMITS = {
  consentLifetimeMonths: { min: 1, max: 24 },
  softOptInMonths: { min: 1, max: 24 },
  proofDays: { min: 1, max: 36_525 },
} as const;

function checkRange(
  name: keyof typeof LIMITS,
  value: number | null | undefined,
  errors: ProblemField[],
): void {
  if (value === undefined || value === null) return;
  const { min, max } = LIMITS[name];
  if (!Number.isInteger(value) || value < min || value > max) {
    errors.push({ pointer: `/retention/${name}`, detail: `an integer from ${min} to ${max}` });
  }
}

/** Applies a merge patch to a mapping; a `null` patch empties it. */
function merged(current: Record<string, string>, patch: MappingPatch | null | undefined) {
  if (patch === undefined) return current;
  if (patch === null) return {};
  const out = { ...current };
  for (const [key, topic] of Object.entries(patch)) {
    if (topic === null) delete out[key];
    else out[key] = topic;
  }
  return out;
}

const escapePointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

/**
 * Changes the tenant's settings (`PATCH /v1/settings`): fields given are set,
 * fields left out are kept, `null` clears. Mapping targets must be topics of
 * the tenant; the webhook key must be a P-256 public key; the API key is
 * sealed before it is stored.
 */
export async function updateSettings(
  deps: Deps,
  tenant: TenantRow,
  patch: SettingsPatch,
  actor: SettingsActor,
): Promise<SettingsView> {
  const errors: ProblemField[] = [];
  const retention = patch.retention ?? {};
  checkRange("proofDays", retention.proofDays, errors);
  if (
    actor !== "operator" &&
    retention.proofDays !== undefined &&
    Number.isInteger(retention.proofDays) &&
    retention.proofDays >= LIMITS.proofDays.min &&
    retention.proofDays < PROOF_DAYS_FLOOR
  ) {
    // docs/design.md §5: proofs are kept at least 3 years (the limitation period of
    // claims a message could give rise to); a leaked or careless tenant key
    // must not be able to shorten that. Only the operator can.
    throw new ProblemError("retention-below-floor", {
      detail: `A tenant key cannot keep proofs for fewer than ${PROOF_DAYS_FLOOR} days; only the operator can set less.`,
      errors: [{ pointer: "/retention/proofDays", detail: `at least ${PROOF_DAYS_FLOOR}` }],
    });
  }
  checkRange("consentLifetimeMonths", retention.consentLifetimeMonths, errors);
  checkRange("softOptInMonths", retention.softOptInMonths, errors);
  const sendgrid = patch.sendgrid ?? {};

  let publicKey: string | null | undefined = sendgrid.webhookPublicKey;
  if (typeof publicKey === "string") {
    publicKey = normalisePublicKey(publicKey);
    if (!(await importPublicKey(publicKey))) {
      errors.push({
        pointer: "/sendgrid/webhookPublicKey",
        detail: "not an ECDSA P-256 public key (base64 DER, as SendGrid's Mail Settings show it)",
      });
    }
  }
  if (typeof sendgrid.apiKey === "string" && !/^[\x21-\x7e]{1,512}$/.test(sendgrid.apiKey)) {
    errors.push({
      pointer: "/sendgrid/apiKey",
      detail: "1 to 512 printable characters, no spaces",
    });
  }
  if (errors.length > 0) {
    throw new ProblemError("invalid-request", { detail: "The settings are not valid.", errors });
  }

  // Mapping targets must exist (an unmapped group or category is no topic).
  const known = new Set((await listTopics(deps, tenant.id)).map((topic) => topic.id));
  const unknown: ProblemField[] = [];
  for (const [field, mapping] of [
    ["asmGroups", sendgrid.asmGroups],
    ["categories", sendgrid.categories],
  ] as const) {
    for (const [key, topic] of Object.entries(mapping ?? {})) {
      if (topic !== null && !known.has(topic)) {
        unknown.push({
          pointer: `/sendgrid/${field}/${escapePointer(key)}`,
          detail: "unknown topic",
        });
      }
    }
  }
  if (unknown.length > 0) {
    throw new ProblemError("unknown-topic", {
      detail: "A SendGrid group or category is mapped to a topic this tenant has not defined.",
      errors: unknown,
    });
  }

  const now = deps.clock();
  const sealed =
    typeof sendgrid.apiKey === "string"
      ? await sealSecret(deps.settingsKey, sendgrid.apiKey, apiKeyContext(tenant.id))
      : sendgrid.apiKey;

  {
    // Read, then written in one atomic batch. Not an interactive transaction:
    // on an embedded libSQL file a writer waiting on it would stall the
    // process. Two patches of the same tenant at the same instant may then
    // merge their mapping keys last-writer-wins; settings change rarely.
    const [current] = await deps.db
      .select()
      .from(tenantSettings)
      .where(eq(tenantSettings.tenantId, tenant.id));
    const row = {
      tenantId: tenant.id,
      sendgridApiKeyCiphertext:
        sealed === undefined ? (current?.sendgridApiKeyCiphertext ?? null) : sealed,
      sendgridApiKeySetAt:
        sealed === undefined
          ? (current?.sendgridApiKeySetAt ?? null)
          : sealed === null
            ? null
            : now,
      webhookPublicKey: publicKey === undefined ? (current?.webhookPublicKey ?? null) : publicKey,
      asmGroupTopics: merged(current?.asmGroupTopics ?? {}, sendgrid.asmGroups),
      categoryTopics: merged(current?.categoryTopics ?? {}, sendgrid.categories),
      webhooks: patch.webhooks === undefined ? (current?.webhooks ?? []) : (patch.webhooks ?? []),
      // The signing secret is made with the first endpoint, and kept
      // (a rotation is POST /v1/webhooks/secret).
      webhookSecretCiphertext:
        current?.webhookSecretCiphertext ??
        (patch.webhooks && patch.webhooks.length > 0
          ? await sealWebhookSecret(deps, tenant.id, newWebhookSecret())
          : null),
      updatedAt: now,
    };
    const upsert = deps.db
      .insert(tenantSettings)
      .values(row)
      .onConflictDoUpdate({ target: tenantSettings.tenantId, set: row });
    const tenantChanges: Partial<typeof tenants.$inferInsert> = {};
    if (retention.proofDays !== undefined) tenantChanges.proofRetentionDays = retention.proofDays;
    if (retention.consentLifetimeMonths !== undefined)
      tenantChanges.consentLifetimeMonths = retention.consentLifetimeMonths;
    if (retention.softOptInMonths !== undefined)
      tenantChanges.softOptInMonths = retention.softOptInMonths;
    const record = recordSettingsChange(deps, tenant.id, actor, [
      ...fieldChange("/webhooks", current?.webhooks ?? [], row.webhooks),
      ...(row.webhookSecretCiphertext !== (current?.webhookSecretCiphertext ?? null)
        ? [secretChange("/webhookSecret", row.webhookSecretCiphertext)]
        : []),
      ...(sealed === undefined ? [] : [secretChange("/sendgrid/apiKey", sealed)]),
      ...fieldChange(
        "/sendgrid/webhookPublicKey",
        current?.webhookPublicKey ?? null,
        row.webhookPublicKey,
      ),
      ...fieldChange("/sendgrid/asmGroups", current?.asmGroupTopics ?? {}, row.asmGroupTopics),
      ...fieldChange("/sendgrid/categories", current?.categoryTopics ?? {}, row.categoryTopics),
      ...fieldChange(
        "/retention/proofDays",
        tenant.proofRetentionDays,
        tenantChanges.proofRetentionDays ?? tenant.proofRetentionDays,
      ),
      ...fieldChange(
        "/retention/consentLifetimeMonths",
        tenant.consentLifetimeMonths,
        tenantChanges.consentLifetimeMonths === undefined
          ? tenant.consentLifetimeMonths
          : tenantChanges.consentLifetimeMonths,
      ),
      ...fieldChange(
        "/retention/softOptInMonths",
        tenant.softOptInMonths,
        tenantChanges.softOptInMonths === undefined
          ? tenant.softOptInMonths
          : tenantChanges.softOptInMonths,
      ),
    ]);
    // The change and its record: together or not at all.
    await deps.db.batch([
      upsert,
      ...(Object.keys(tenantChanges).length > 0
        ? [deps.db.update(tenants).set(tenantChanges).where(eq(tenants.id, tenant.id))]
        : []),
      ...(record ? [record] : []),
    ]);
  }
  const updated = await loadTenant(deps, tenant.id);
  return settingsView(deps, updated, await loadSettingsRow(deps, tenant.id));
}
