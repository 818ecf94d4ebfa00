import type { ServiceBasis, TopicClass } from "./vocabulary.js";

/** A kind of message a tenant sends (DESIGN §2). */
export interface Topic {
  id: string;
  name: string;
  description: string;
  class: TopicClass;
  /** For marketing topics: the product categories it promotes. */
  categories: readonly string[];
  /** For service topics: the basis they are sent on (default `contract`). */
  serviceBasis: ServiceBasis | null;
}
