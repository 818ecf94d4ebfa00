import type { Locale } from "./compliance/wording.js";
import type { ServiceBasis, TopicClass } from "./vocabulary.js";

/** A topic's name and description in other languages than its default one. */
export type TopicTranslations = {
  [L in Locale]?: { name: string; description?: string | undefined } | undefined;
};

/** A kind of message a tenant sends (docs/design.md §2). */
export interface Topic {
  id: string;
  name: string;
  description: string;
  class: TopicClass;
  /** For marketing topics: the product categories it promotes. */
  categories: readonly string[];
  /** For service topics: the basis they are sent on (default `contract`). */
  serviceBasis: ServiceBasis | null;
  /** `name` and `description` per locale; what is missing falls back to them. */
  translations: TopicTranslations;
}

/**
 * The topic as a recipient reading `locale` sees it: its translated name
 * and description where the tenant gave them, else the default ones.
 */
export function topicInLocale<
  T extends Pick<Topic, "name" | "description"> & { translations?: TopicTranslations },
>(topic: T, locale: Locale): T {
  const translated = topic.translations?.[locale];
  if (!translated) return topic;
  return {
    ...topic,
    name: translated.name,
    description: translated.description ?? topic.description,
  };
}
