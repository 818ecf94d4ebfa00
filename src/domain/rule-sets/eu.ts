import type { RuleSet } from "./types.js";

/**
 * EU: GDPR and the ePrivacy Directive 2002/58/EC Art. 13. Marketing e-mail
 * needs consent (Art. 13(1)), except to a seller's own customers for its own
 * similar products, where the opt-out was offered at collection and with
 * every message (Art. 13(2), the "soft opt-in").
 */
export const eu: RuleSet = {
  id: "eu",
  version: 1,
  law: "GDPR; ePrivacy Directive 2002/58/EC Art. 13",
  consent: { lifetimeMonths: 24, doubleOptInRequired: false, doubleOptInExempt: [] },
  softOptIn: { months: 24 },
  regimes: { optOut: false, corporateSubscriberExempt: false, impliedConsent: null },
  // GDPR Art. 8(1): 16 unless a member state sets a lower age (not below 13).
  defaultDigitalConsentAge: 16,
};
