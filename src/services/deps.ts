import type { Database } from "../db/database.js";
import type { KeyedHasher } from "../domain/digest.js";

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
}

export function subjectKeyOf(deps: Deps, tenantId: string, normalisedAddress: string) {
  return deps.subjectKeyHasher(`${tenantId}\n${normalisedAddress}`);
}
