import { ca } from "./ca.js";
import { cz } from "./cz.js";
import { de } from "./de.js";
import { DIGITAL_CONSENT_AGE } from "./digital-consent-ages.js";
import { eu } from "./eu.js";
import type { RuleSet } from "./types.js";
import { uk } from "./uk.js";
import { us } from "./us.js";

export { type RuleSet, ruleSetRef } from "./types.js";
export { eu };

export const RULE_SETS: readonly RuleSet[] = [eu, cz, de, uk, us, ca];

/** Countries with a rule set of their own; every other country gets `eu`. */
const BY_COUNTRY: Readonly<Record<string, RuleSet>> = {
  CZ: cz,
  DE: de,
  GB: uk,
  // "UK" is not an ISO code, but it is what people type.
  UK: uk,
  US: us,
  CA: ca,
};

/** Normalises a country code as given ("cz", " GB ") to ISO upper case. */
export function normaliseCountry(country: string): string {
  const code = country.trim().toUpperCase();
  return code === "UK" ? "GB" : code;
}

/**
 * The rule set for a country: its own, else `eu` (docs/design.md §3: a country with no
 * rule set of its own gets `eu`).
 */
export function ruleSetForCountry(country: string): RuleSet {
  return BY_COUNTRY[normaliseCountry(country)] ?? eu;
}

export function digitalConsentAge(country: string, ruleSet: RuleSet): number {
  return DIGITAL_CONSENT_AGE[normaliseCountry(country)] ?? ruleSet.defaultDigitalConsentAge;
}
