import type { RuleSet } from "./types.js";

/**
 * United Kingdom: PECR reg. 22. Consent for individual subscribers, with the
 * soft opt-in of reg. 22(3); corporate subscribers are outside reg. 22
 * (they must still be able to opt out, which the objection rule enforces).
 */
export const uk: RuleSet = {
  id: "uk",
  version: 1,
  law: "PECR reg. 22; UK GDPR",
  consent: { lifetimeMonths: 24, doubleOptInRequired: false, doubleOptInExempt: [] },
  softOptIn: { months: 24 },
  regimes: { optOut: false, corporateSubscriberExempt: true, impliedConsent: null },
  // Data Protection Act 2018 s. 9: 13.
  defaultDigitalConsentAge: 13,
};
