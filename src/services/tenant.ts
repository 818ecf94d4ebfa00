import { eq } from "drizzle-orm";
import { tenants } from "../db/schema.js";
import type { TenantPolicy } from "../domain/decision/types.js";
import { ProblemError } from "../problems.js";
import type { Deps } from "./deps.js";

export type TenantRow = typeof tenants.$inferSelect;

/** A tenant as the API shows it. */
export interface Tenant {
  id: string;
  name: string;
  legalName: string;
  address: string;
  registrationId: string;
  contactEmail: string;
  domains: string[];
  country: string;
  mode: TenantRow["mode"];
  createdAt: string;
}

export function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    legalName: row.legalName,
    address: row.address,
    registrationId: row.registrationId,
    contactEmail: row.contactEmail,
    domains: row.domains,
    country: row.country,
    mode: row.mode,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export function policyOf(row: TenantRow): TenantPolicy {
  return {
    defaultCountry: row.country,
    mode: row.mode,
    consentLifetimeMonths: row.consentLifetimeMonths,
    softOptInMonths: row.softOptInMonths,
  };
}

export async function loadTenant(deps: Deps, tenantId: string): Promise<TenantRow> {
  const row = await deps.db.query.tenants.findFirst({ where: eq(tenants.id, tenantId) });
  if (!row) throw new ProblemError("not-found", { detail: "No such tenant." });
  return row;
}
