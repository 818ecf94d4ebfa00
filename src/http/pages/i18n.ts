/**
 * The words of the recipient pages (`/u`, `/c`), in English and Czech. Plain
 * words, as GDPR Art. 12(1) asks; the footer's labels come from the mail
 * wording (domain/compliance/wording.ts), so the link in the mail and the
 * page it opens say the same thing.
 *
 * Texts that are evidence — what a person agreed or objected to — are
 * versioned (`WORDING_VERSION`): change such a text, and bump its version,
 * so a stored SHA-256 always names the words that were shown.
 */
import { type Locale, oneLine, supportedLocale, WORDING } from "../../domain/compliance/wording.js";

export type { Locale };

/** The version of the evidence texts below; part of every recorded wording version. */
const WORDING_VERSION = 1;

export function wordingVersion(locale: Locale): string {
  return `grounds-preference-center/${locale}/${WORDING_VERSION}`;
}

interface Identity {
  legalName: string;
  address: string;
  registrationId: string;
}

export interface PageText {
  languageName: string;
  languageSwitch: string;
  // Neutral notices
  invalidTitle: string;
  invalidBody: string;
  tooManyTitle: string;
  tooManyBody: string;
  errorTitle: string;
  errorBody: string;
  badRequestTitle: string;
  badRequestBody: string;
  // The footer
  operatedBy(identity: Identity): string;
  contact(email: string): string;
  // Unsubscribe and preferences
  unsubscribeTitle(topic: string): string;
  unsubscribeIntro(legalName: string, topic: string): string;
  unsubscribeButton(topic: string): string;
  unsubscribeHint: string;
  preferencesHeading: string;
  topicsLegend: string;
  consentStatement(legalName: string): string;
  receiving: string;
  notReceiving: string;
  saveButton: string;
  everythingHeading: string;
  everythingHint(legalName: string): string;
  everythingButton: string;
  blockedNotice: string;
  unsubscribed(topic: string): string;
  unsubscribedAll: string;
  saved: string;
  nothingChanged: string;
  oneClickDone(topic: string): string;
  // Double opt-in
  confirmTitle: string;
  confirmIntro(legalName: string): string;
  confirmButton: string;
  confirmIgnore: string;
  confirmedTitle: string;
  confirmedBody(legalName: string): string;
  expiredTitle: string;
  expiredBody: string;
}

/** A sentence ending in a name: "… Optika s.r.o." gets no second full stop. */
function endWith(name: string): string {
  const trimmed = name.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

const en: PageText = {
  languageName: "English",
  languageSwitch: "Language",
  invalidTitle: "This link is not valid",
  invalidBody:
    "The link may be incomplete or damaged. Open it again from the e-mail, or copy the whole link into the address bar.",
  tooManyTitle: "Too many requests",
  tooManyBody: "Please wait a minute, then try again.",
  errorTitle: "Something went wrong",
  errorBody: "Your request may not have been saved. Please try again in a moment.",
  badRequestTitle: "This request was not understood",
  badRequestBody: "Please go back to the page and use one of its buttons.",
  operatedBy: ({ legalName, address, registrationId }) =>
    `${legalName.trim()}, ${oneLine(address)}, registration no. ${registrationId.trim()}`,
  contact: (email) => `Questions about your data: ${email}`,
  unsubscribeTitle: (topic) => WORDING.en.unsubscribeLabel(topic),
  unsubscribeIntro: (legalName, topic) =>
    `You opened this page from an e-mail about “${topic}” sent on behalf of ${endWith(legalName)}`,
  unsubscribeButton: (topic) => WORDING.en.unsubscribeLabel(topic),
  unsubscribeHint: "One click is enough. It takes effect immediately.",
  preferencesHeading: WORDING.en.preferencesLabel,
  topicsLegend: "Topics",
  consentStatement: (legalName) =>
    `Ticking a topic means: I want to receive it by e-mail from ${endWith(legalName)} I can unsubscribe at any time, free of charge.`,
  receiving: "You receive this",
  notReceiving: "You do not receive this",
  saveButton: "Save preferences",
  everythingHeading: "Unsubscribe from everything",
  everythingHint: (legalName) =>
    `Stops every marketing e-mail from ${endWith(legalName)} Messages about your orders and contracts still reach you.`,
  everythingButton: "Unsubscribe from everything",
  blockedNotice:
    "We do not send e-mails to this address at the moment, so there is nothing to choose here.",
  unsubscribed: (topic) => `Done: you are unsubscribed from “${topic}”. This takes effect at once.`,
  unsubscribedAll: "Done: you will receive no more marketing e-mails from us.",
  saved: "Your preferences are saved. They take effect at once.",
  nothingChanged: "Nothing to change: your preferences were already like this.",
  oneClickDone: (topic) => `You are unsubscribed from "${topic}".`,
  confirmTitle: "Confirm your subscription",
  confirmIntro: (legalName) =>
    `${legalName} asks you to confirm that you want to receive these e-mails:`,
  confirmButton: "Confirm my subscription",
  confirmIgnore:
    "If you did not ask for this, just close this page: you will not be subscribed, and we will not write to you about it again.",
  confirmedTitle: "Subscription confirmed",
  confirmedBody: (legalName) =>
    `Thank you. ${legalName} will send you these e-mails; each has a link to unsubscribe with one click.`,
  expiredTitle: "This confirmation link has expired",
  expiredBody:
    "You were not subscribed. If you still want these e-mails, please subscribe again on the sender's website.",
};

const cs: PageText = {
  languageName: "Čeština",
  languageSwitch: "Jazyk",
  invalidTitle: "Tento odkaz není platný",
  invalidBody:
    "Odkaz je možná neúplný nebo poškozený. Otevřete ho znovu z e-mailu, nebo celý odkaz zkopírujte do adresního řádku.",
  tooManyTitle: "Příliš mnoho požadavků",
  tooManyBody: "Počkejte prosím minutu a zkuste to znovu.",
  errorTitle: "Něco se pokazilo",
  errorBody: "Váš požadavek se možná neuložil. Zkuste to prosím za chvíli znovu.",
  badRequestTitle: "Tomuto požadavku nerozumíme",
  badRequestBody: "Vraťte se prosím na stránku a použijte některé z jejích tlačítek.",
  operatedBy: ({ legalName, address, registrationId }) =>
    `${legalName.trim()}, ${oneLine(address)}, IČO ${registrationId.trim()}`,
  contact: (email) => `Dotazy k vašim údajům: ${email}`,
  unsubscribeTitle: (topic) => WORDING.cs.unsubscribeLabel(topic),
  unsubscribeIntro: (legalName, topic) =>
    `Tuto stránku jste otevřeli z e-mailu „${topic}“, který vám poslala společnost ${endWith(legalName)}`,
  unsubscribeButton: (topic) => WORDING.cs.unsubscribeLabel(topic),
  unsubscribeHint: "Stačí jedno kliknutí. Platí okamžitě.",
  preferencesHeading: WORDING.cs.preferencesLabel,
  topicsLegend: "Témata",
  consentStatement: (legalName) =>
    `Zaškrtnutím tématu souhlasím, že mi ho bude společnost ${legalName} posílat e-mailem. Odhlásit se mohu kdykoli a zdarma.`,
  receiving: "Dostáváte",
  notReceiving: "Nedostáváte",
  saveButton: "Uložit nastavení",
  everythingHeading: "Odhlásit vše",
  everythingHint: (legalName) =>
    `Zastaví všechna obchodní sdělení od společnosti ${endWith(legalName)} Zprávy o vašich objednávkách a smlouvách budete dostávat dál.`,
  everythingButton: "Odhlásit všechny odběry",
  blockedNotice: "Na tuto adresu nyní žádné e-maily neposíláme, a tak zde není co nastavit.",
  unsubscribed: (topic) => `Hotovo: odběr „${topic}“ je odhlášen. Platí to okamžitě.`,
  unsubscribedAll: "Hotovo: už vám nebudeme posílat žádná obchodní sdělení.",
  saved: "Nastavení je uloženo. Platí okamžitě.",
  nothingChanged: "Nebylo co měnit: nastavení už takto bylo.",
  oneClickDone: (topic) => `Odběr "${topic}" je odhlášen.`,
  confirmTitle: "Potvrďte přihlášení k odběru",
  confirmIntro: (legalName) =>
    `Společnost ${legalName} vás žádá o potvrzení, že chcete dostávat tyto e-maily:`,
  confirmButton: "Potvrzuji přihlášení k odběru",
  confirmIgnore:
    "Pokud jste o nic nežádali, stránku jen zavřete: k odběru přihlášeni nebudete a už vám kvůli tomu nenapíšeme.",
  confirmedTitle: "Odběr je potvrzen",
  confirmedBody: (legalName) =>
    `Děkujeme. Společnost ${legalName} vám bude tyto e-maily posílat; každý obsahuje odkaz, kterým se jedním kliknutím odhlásíte.`,
  expiredTitle: "Platnost potvrzovacího odkazu vypršela",
  expiredBody:
    "K odběru jste přihlášeni nebyli. Pokud o tyto e-maily stále stojíte, přihlaste se prosím znovu na webu odesílatele.",
};

export const TEXT: Readonly<Record<Locale, PageText>> = { en, cs };

/**
 * The page's language: an explicit choice (`?lang=`, or the form's `lang`)
 * first, else the best of `Accept-Language` (RFC 9110 §12.5.4, by q-value),
 * else English.
 */
export function pageLocale(
  choice: string | null | undefined,
  acceptLanguage: string | null | undefined,
): Locale {
  const chosen = choice ? supportedLocale(choice) : null;
  if (chosen) return chosen;
  const ranges = (acceptLanguage ?? "")
    .split(",")
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params
        .map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)?.[1])
        .find((v) => v !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((range) => range.tag !== "" && range.q > 0 && Number.isFinite(range.q))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const range of ranges) {
    const locale = supportedLocale(range.tag);
    if (locale) return locale;
  }
  return "en";
}

/** The exact words recorded for a consent ticked on the page (GDPR Art. 7(1)). */
export function grantWordingText(
  locale: Locale,
  legalName: string,
  topic: { name: string; description: string },
): string {
  const t = TEXT[locale];
  return [t.consentStatement(legalName), topicLabel(topic)].join("\n");
}

/** The words shown with an unticked topic, recorded with the objection. */
export function objectionWordingText(
  locale: Locale,
  topic: { name: string; description: string },
): string {
  return [TEXT[locale].preferencesHeading, topicLabel(topic), TEXT[locale].notReceiving].join("\n");
}

/** The words around the page's one button. */
export function unsubscribeWordingText(locale: Locale, legalName: string, topic: string): string {
  const t = TEXT[locale];
  return [t.unsubscribeIntro(legalName, topic), t.unsubscribeButton(topic), t.unsubscribeHint].join(
    "\n",
  );
}

/** The words around "unsubscribe from everything". */
export function everythingWordingText(locale: Locale, legalName: string): string {
  const t = TEXT[locale];
  return [t.everythingHint(legalName), t.everythingButton].join("\n");
}

/** A topic's label as the page shows it: its name, and below it its description if any. */
export function topicLabel(topic: { name: string; description: string }): string {
  const description = topic.description.trim();
  return description ? `${topic.name.trim()}\n${description}` : topic.name.trim();
}
