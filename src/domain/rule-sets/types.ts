import type { Basis } from "../vocabulary.js";

/**
 * A rule set is data: what one jurisdiction's law allows for commercial
 * e-mail. It is versioned (`cz@1`), and a justification names the version it
 * was decided under, so a later change of the data never rewrites the past.
 */
export interface RuleSet {
  id: string;
  version: number;
  /** The law it encodes, for the trace and for compliance staff. */
  law: string;
  consent: {
    /** Months a consent stays valid after the later of grant and last engagement. */
    lifetimeMonths: number;
    /** Whether a consent must be confirmed by double opt-in to count. */
    doubleOptInRequired: boolean;
    /** Collection methods that need no double opt-in even where it is required. */
    doubleOptInExempt: readonly string[];
  };
  /** The EU-style soft opt-in for own similar products (ePrivacy Art. 13(2)). */
  softOptIn: { months: number } | null;
  /** Bases beyond consent and soft opt-in that this law allows. */
  regimes: {
    /** CAN-SPAM: commercial e-mail needs no consent, only a working opt-out. */
    optOut: boolean;
    /** PECR: corporate subscribers are outside the consent rule. */
    corporateSubscriberExempt: boolean;
    /** CASL s. 10(9): implied consent from an existing business relationship. */
    impliedConsent: { purchaseMonths: number; inquiryMonths: number } | null;
  };
  /** Age of digital consent where the country has no entry of its own. */
  defaultDigitalConsentAge: number;
}

export function ruleSetRef(ruleSet: Pick<RuleSet, "id" | "version">): string {
  return `${ruleSet.id}@${ruleSet.version}`;
}

/** The bases a rule set can ever give, for documentation and the trace. */
export function basesOf(ruleSet: RuleSet): Basis[] {
  const bases: Basis[] = ["consent", "contract", "legal-obligation"];
  if (ruleSet.softOptIn) bases.push("legitimate-interest");
  if (ruleSet.regimes.optOut) bases.push("opt-out-regime");
  if (ruleSet.regimes.corporateSubscriberExempt) bases.push("corporate-subscriber");
  if (ruleSet.regimes.impliedConsent) bases.push("implied-consent");
  return bases;
}
