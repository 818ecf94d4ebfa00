import { tenants } from "../db/schema.js";
import { newId } from "../domain/ids.js";
import type { PolicyMode } from "../domain/vocabulary.js";
import { type CreatedKey, issueKey, keyCreated } from "./create-key.js";
import type { Deps } from "./deps.js";
import { recordSettingsChange } from "./settings/record-settings-change.js";
import { type Tenant, toTenant } from "./tenant.js";

export interface CreateTenantInput {
  name: string;
  legalName: string;
  address: string;
  registrationId: string;
  contactEmail: string;
  domains: string[];
  country: string;
  mode: PolicyMode;
}

/** Creates a tenant and its first admin key, together or not at all. */
export async function createTenant(
  deps: Deps,
  input: CreateTenantInput,
): Promise<{ tenant: Tenant; adminKey: CreatedKey }> {
  const now = deps.clock();
  const row = {
    id: newId("ten", now),
    name: input.name,
    legalName: input.legalName,
    address: input.address,
    registrationId: input.registrationId,
    contactEmail: input.contactEmail,
    domains: [...new Set(input.domains.map((d) => d.trim().toLowerCase()))],
    country: input.country.trim().toUpperCase(),
    mode: input.mode,
    consentLifetimeMonths: null,
    softOptInMonths: null,
    proofRetentionDays: 1096,
    createdAt: now,
  };
  const key = await issueKey(row.id, ["admin"], "admin", now);
  const record = recordSettingsChange(deps, row.id, "operator", [keyCreated(key.created)]);
  await deps.db.batch([
    deps.db.insert(tenants).values(row),
    deps.db.insert(key.table).values(key.row),
    ...(record ? [record] : []),
  ]);
  return { tenant: toTenant(row), adminKey: key.created };
}
