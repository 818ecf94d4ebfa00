import type { Database } from "../db/database.js";
import type { KeyedHasher } from "../domain/digest.js";
import type { UnsubscribeTokenKey } from "../domain/unsubscribe-token.js";
import type { MailProvider } from "./delivery/provider.js";

/** What every service is given; nothing is read from the environment here. */
export interface Deps {
  db: Database;
  /** Epoch milliseconds now. Tests pass a fixed clock. */
  clock: () => number;
  /**
   * The keyed hash of a normalised address within a tenant: evidence and
   * proofs refer to subjects by it, never by the address (DESIGN §6).
   */
  subjectKeyHasher: KeyedHasher;
  /** SHA-256 of the operator credential. */
  operatorTokenHash: string;
  /** The master secret's key for signing unsubscribe and confirmation tokens. */
  tokenKey: UnsubscribeTokenKey;
  /**
   * The master secret's key for secrets kept at rest (a tenant's SendGrid API
   * key, AES-GCM: domain/secret-box.ts).
   */
  settingsKey: Uint8Array;
  /** Base of the links in mail (unsubscribe, preferences, confirmation). */
  publicUrl: string;
  /** SendGrid, or the local outbox when no key is set. */
  provider: MailProvider;
  /**
   * Runs work after the answer was sent (an import's processing). Unset, the
   * HTTP app hands it to the Worker's `waitUntil` where there is one.
   */
  runInBackground?: (task: Promise<unknown>) => void;
}

export function subjectKeyOf(deps: Deps, tenantId: string, normalisedAddress: string): string {
  return deps.subjectKeyHasher(`${tenantId}\n${normalisedAddress}`);
}
