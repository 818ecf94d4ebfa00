/**
 * The words of the compliance footer, per language. Plain words, because
 * the law asks that they be understood: GDPR Art. 12(1) ("concise,
 * transparent, intelligible … clear and plain language").
 *
 * English is the default; Czech because the law the gateway grew from is
 * Czech (Act 480/2004 Coll. §7) and so are its first tenants. A locale such
 * as `cs-CZ` uses `cs`; an unknown one falls back to English.
 */
import type { Basis } from "../vocabulary.js";
import type { SenderIdentity } from "./sender.js";

export const LOCALES = ["en", "cs"] as const;
export type Locale = (typeof LOCALES)[number];

/** The supported language a BCP 47 tag names by its primary subtag (`cs-CZ` → `cs`), or null. */
export function supportedLocale(tag: string | null | undefined): Locale | null {
  const primary = (tag ?? "").trim().toLowerCase().split(/[-_]/)[0] ?? "";
  return (LOCALES as readonly string[]).includes(primary) ? (primary as Locale) : null;
}

export function resolveLocale(tag: string | null | undefined): Locale {
  return supportedLocale(tag) ?? "en";
}

/** Why the recipient receives the message: the basis, or the confirmation request. */
export type WhyReason = Basis | "confirmation";

export interface Wording {
  /** Marketing: identifies the message as commercial and names the sender. */
  commercialSender(identity: SenderIdentity): string;
  /** Service and confirmation messages: names the sender. */
  sender(identity: SenderIdentity): string;
  why(reason: WhyReason, topicName: string, consentGivenAt: number | null): string;
  /** GDPR Art. 21(4): the right to object, stated on its own. */
  objection(contactEmail: string | null): string;
  unsubscribeLabel(topicName: string): string;
  preferencesLabel: string;
}

/** A postal address on one line (it may be stored with line breaks). */
export function oneLine(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(", ");
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** A date in words ("14 March 2025"); formatters are built once (10,000 recipients a send). */
function dateIn(locale: string, at: number): string {
  let format = dateFormats.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, {
      day: "numeric",
      month: "long",
      year: "numeric",
      timeZone: "UTC",
    });
    dateFormats.set(locale, format);
  }
  // A send words thousands of consent dates, most of them on few days.
  const day = Math.floor(at / DAY_MS);
  const key = `${locale} ${day}`;
  let text = formattedDays.get(key);
  if (text === undefined) {
    text = format.format(day * DAY_MS);
    if (formattedDays.size >= 4096) formattedDays.clear();
    formattedDays.set(key, text);
  }
  return text;
}

const DAY_MS = 86_400_000;
const formattedDays = new Map<string, string>();

const en: Wording = {
  commercialSender: ({ legalName, address, registrationId }) =>
    `This is a commercial communication (advertisement) sent on behalf of ${legalName.trim()}, ${oneLine(address)}, registration no. ${registrationId.trim()}.`,
  sender: ({ legalName, address, registrationId }) =>
    `This message is sent by ${legalName.trim()}, ${oneLine(address)}, registration no. ${registrationId.trim()}.`,
  why(reason, topic, consentGivenAt) {
    switch (reason) {
      case "consent":
        return consentGivenAt === null
          ? `You receive this because you subscribed to ${topic}.`
          : `You receive this because you subscribed to ${topic} on ${dateIn("en-GB", consentGivenAt)}.`;
      case "legitimate-interest":
        return "You receive this because you are our customer and it concerns products similar to those you bought from us.";
      case "opt-out-regime":
        return `You receive this because your address is on our mailing list for ${topic} and you have not asked us to stop.`;
      case "corporate-subscriber":
        return "You receive this at your business address because it concerns products and services for your organisation.";
      case "implied-consent":
        return "You receive this because you recently bought from us or asked us about our products.";
      case "contract":
        return "You receive this message because it concerns your order or contract with us.";
      case "legal-obligation":
        return "You receive this message because the law requires us to inform you.";
      case "confirmation":
        return `You receive this message because this address was entered to subscribe to ${topic}.`;
    }
  },
  objection: (contact) =>
    contact
      ? `You may object to direct marketing at any time, free of charge: use the unsubscribe link below, or write to ${contact}.`
      : "You may object to direct marketing at any time, free of charge: use the unsubscribe link below.",
  unsubscribeLabel: (topic) => `Unsubscribe from ${topic}`,
  preferencesLabel: "Manage your e-mail preferences",
};

const cs: Wording = {
  commercialSender: ({ legalName, address, registrationId }) =>
    `Toto je obchodní sdělení. Zasílá ho ${legalName.trim()}, ${oneLine(address)}, IČO ${registrationId.trim()}.`,
  sender: ({ legalName, address, registrationId }) =>
    `Tuto zprávu zasílá ${legalName.trim()}, ${oneLine(address)}, IČO ${registrationId.trim()}.`,
  why(reason, topic, consentGivenAt) {
    switch (reason) {
      case "consent":
        return consentGivenAt === null
          ? `Tento e-mail dostáváte, protože jste se přihlásili k odběru: ${topic}.`
          : `Tento e-mail dostáváte, protože jste se ${dateIn("cs-CZ", consentGivenAt)} přihlásili k odběru: ${topic}.`;
      case "legitimate-interest":
        return "Tento e-mail dostáváte, protože jste naším zákazníkem a týká se produktů podobných těm, které jste si u nás koupili.";
      case "opt-out-regime":
        return `Tento e-mail dostáváte, protože je vaše adresa v našem seznamu pro ${topic} a nepožádali jste nás, abychom přestali.`;
      case "corporate-subscriber":
        return "Tento e-mail dostáváte na pracovní adresu, protože se týká produktů a služeb pro vaši organizaci.";
      case "implied-consent":
        return "Tento e-mail dostáváte, protože jste u nás nedávno nakoupili nebo se na naše produkty ptali.";
      case "contract":
        return "Tuto zprávu dostáváte, protože se týká vaší objednávky nebo smlouvy s námi.";
      case "legal-obligation":
        return "Tuto zprávu dostáváte, protože vás o tom musíme informovat ze zákona.";
      case "confirmation":
        return `Tuto zprávu dostáváte, protože tato adresa byla zadána k přihlášení k odběru: ${topic}.`;
    }
  },
  objection: (contact) =>
    contact
      ? `Proti zasílání obchodních sdělení můžete kdykoli bezplatně vznést námitku: použijte odkaz pro odhlášení níže nebo napište na ${contact}.`
      : "Proti zasílání obchodních sdělení můžete kdykoli bezplatně vznést námitku: použijte odkaz pro odhlášení níže.",
  unsubscribeLabel: (topic) => `Odhlásit odběr: ${topic}`,
  preferencesLabel: "Nastavit odběr e-mailů",
};

export const WORDING: Readonly<Record<Locale, Wording>> = { en, cs };
