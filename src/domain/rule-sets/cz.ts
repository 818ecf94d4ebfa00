import type { RuleSet } from "./types.js";

/**
 * Czech Republic: Act 480/2004 Coll. §7. As the EU rules; §7(2) protects every
 * "user", legal persons included, so there is no exemption for corporate
 * addresses, and §7(3) is the soft opt-in for the seller's own customers.
 */
export const cz: RuleSet = {
  id: "cz",
  version: 1,
  law: "Act 480/2004 Coll. §7; GDPR",
  consent: { lifetimeMonths: 24, doubleOptInRequired: false, doubleOptInExempt: [] },
  softOptIn: { months: 24 },
  regimes: { optOut: false, corporateSubscriberExempt: false, impliedConsent: null },
  // Act 110/2019 Coll. §7: the age of digital consent is 15.
  defaultDigitalConsentAge: 15,
};
