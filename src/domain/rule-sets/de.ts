import type { RuleSet } from "./types.js";

/**
 * Germany: UWG §7. Advertising by e-mail without prior express consent is an
 * unreasonable nuisance (§7(2) no. 2); the courts require proof of consent,
 * which in practice means a confirmed double opt-in, unless the consent was
 * given on paper (signed). §7(3) is the existing-customer exemption.
 */
export const de: RuleSet = {
  id: "de",
  version: 1,
  law: "UWG §7; GDPR",
  consent: { lifetimeMonths: 24, doubleOptInRequired: true, doubleOptInExempt: ["paper"] },
  softOptIn: { months: 24 },
  regimes: { optOut: false, corporateSubscriberExempt: false, impliedConsent: null },
  defaultDigitalConsentAge: 16,
};
