import type { Deps } from "../deps.js";
import type { TenantRow } from "../tenant.js";
import { loadSettingsRow, type SettingsView, settingsView } from "./settings.js";

/** The tenant's settings, secrets shown only as set or not (docs/design.md §5). */
export async function getSettings(deps: Deps, tenant: TenantRow): Promise<SettingsView> {
  return settingsView(deps, tenant, await loadSettingsRow(deps, tenant.id));
}
