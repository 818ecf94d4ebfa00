/**
 * The age of digital consent by country (GDPR Art. 8(1) and the member
 * states' laws that lower it; EEA states by the EEA Agreement; the UK by the
 * Data Protection Act 2018 s. 9). Keys are ISO 3166-1 alpha-2 codes.
 * A country not listed takes its rule set's default.
 */
export const DIGITAL_CONSENT_AGE: Readonly<Record<string, number>> = {
  AT: 14,
  BE: 13,
  BG: 14,
  CY: 14,
  CZ: 15,
  DE: 16,
  DK: 13,
  EE: 13,
  ES: 14,
  FI: 13,
  FR: 15,
  GR: 15,
  HR: 16,
  HU: 16,
  IE: 16,
  IT: 14,
  LT: 14,
  LU: 16,
  LV: 13,
  MT: 13,
  NL: 16,
  PL: 16,
  PT: 13,
  RO: 16,
  SE: 13,
  SI: 15,
  SK: 16,
  // EEA
  IS: 13,
  LI: 16,
  NO: 13,
  // United Kingdom
  GB: 13,
};
