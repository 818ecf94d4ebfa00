import type { ComposeInput } from "../../src/domain/compliance/index.js";

export const identity = {
  legalName: "Kavárna Dobrá s.r.o.",
  address: "Náměstí Míru 1\n120 00 Praha 2\nCzech Republic",
  registrationId: "12345678",
  contactEmail: "privacy@kavarna.example",
};

export const newsletterTopic = {
  id: "newsletter",
  name: "Coffee News",
  class: "marketing" as const,
};
export const orderTopic = { id: "orders", name: "Order updates", class: "service" as const };

export const newsletterData = {
  title: "Autumn roasts",
  intro: "Three new coffees for the cold months.",
  items: [
    { title: "Ethiopia Guji", summary: "Bright and floral.", url: "https://kavarna.example/guji" },
    {
      title: "Brazil Cerrado",
      summary: "Chocolate & nuts.",
      url: "https://kavarna.example/cerrado",
    },
  ],
  cta_url: "https://kavarna.example/shop",
  cta_label: "Visit the shop",
};

export function marketingInput(overrides: Partial<ComposeInput> = {}): ComposeInput {
  return {
    identity,
    topic: newsletterTopic,
    from: { email: "news@kavarna.example", name: "Kavárna Dobrá" },
    domains: ["kavarna.example"],
    subject: "Autumn roasts are here",
    template: "newsletter",
    data: newsletterData,
    ...overrides,
  };
}

export const urls = {
  unsubscribeUrl: "https://grounds.example/u/TOKEN123",
  /** The preference page is the unsubscribe link's page. */
  preferencesUrl: "https://grounds.example/u/TOKEN123#preferences",
};
