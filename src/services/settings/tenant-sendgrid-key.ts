import { openSecret } from "../../domain/secret-box.js";
import type { Deps } from "../deps.js";
import { apiKeyContext, loadSettingsRow } from "./settings.js";

/**
 * The tenant's own SendGrid API key in clear, for the delivery path only
 * (docs/design.md §5: "a tenant may carry its own key"); null when it has none, and
 * then the installation's key or the local outbox is used. Never shown.
 */
export async function tenantSendGridKey(deps: Deps, tenantId: string): Promise<string | null> {
  const row = await loadSettingsRow(deps, tenantId);
  if (!row?.sendgridApiKeyCiphertext) return null;
  return openSecret(deps.settingsKey, row.sendgridApiKeyCiphertext, apiKeyContext(tenantId));
}
