import type { RuleSet } from "./types.js";

/**
 * United States: CAN-SPAM (15 U.S.C. 7701 ff.). Commercial e-mail needs no
 * prior consent, only a working opt-out honoured within 10 business days and
 * a valid physical postal address; the objection rule and the footer do that.
 */
export const us: RuleSet = {
  id: "us",
  version: 1,
  law: "CAN-SPAM Act, 15 U.S.C. 7701–7713",
  consent: { lifetimeMonths: 24, doubleOptInRequired: false, doubleOptInExempt: [] },
  softOptIn: null,
  regimes: { optOut: true, corporateSubscriberExempt: false, impliedConsent: null },
  // COPPA (15 U.S.C. 6501): parental consent below 13.
  defaultDigitalConsentAge: 13,
};
