import type { RuleSet } from "./types.js";

/**
 * Canada: CASL s. 6 and s. 10. Express consent, or consent implied by an
 * existing business relationship (s. 10(10)): a purchase in the last two
 * years or an inquiry in the last six months — similar products or not.
 * There is no EU-style soft opt-in.
 */
export const ca: RuleSet = {
  id: "ca",
  version: 1,
  law: "CASL (S.C. 2010, c. 23) s. 6, s. 10",
  consent: { lifetimeMonths: 24, doubleOptInRequired: false, doubleOptInExempt: [] },
  softOptIn: null,
  regimes: {
    optOut: false,
    corporateSubscriberExempt: false,
    impliedConsent: { purchaseMonths: 24, inquiryMonths: 6 },
  },
  // No statutory age; PIPEDA guidance treats under-13s as unable to consent.
  defaultDigitalConsentAge: 13,
};
