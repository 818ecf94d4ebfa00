import { topics } from "../db/schema.js";
import type { Topic, TopicTranslations } from "../domain/topic.js";
import type { ServiceBasis, TopicClass } from "../domain/vocabulary.js";
import { ProblemError } from "../problems.js";
import type { Deps } from "./deps.js";
import { findTopic, toTopic } from "./topics.js";

export interface DefineTopicInput {
  id: string;
  name: string;
  description?: string | undefined;
  class: TopicClass;
  categories?: string[] | undefined;
  serviceBasis?: ServiceBasis | undefined;
  translations?: TopicTranslations | undefined;
}

/**
 * Defines a topic. A topic is never redefined in place: past decisions were
 * made against its class and categories.
 */
export async function defineTopic(
  deps: Deps,
  tenantId: string,
  input: DefineTopicInput,
): Promise<Topic> {
  if (await findTopic(deps, tenantId, input.id)) {
    throw new ProblemError("topic-exists", { detail: `Topic "${input.id}" exists.` });
  }
  const row = {
    tenantId,
    id: input.id,
    name: input.name,
    description: input.description ?? "",
    class: input.class,
    categories: [...new Set((input.categories ?? []).map((c) => c.trim()))],
    serviceBasis: input.class === "service" ? (input.serviceBasis ?? "contract") : null,
    translations: input.translations ?? {},
    createdAt: deps.clock(),
  };
  const inserted = await deps.db.insert(topics).values(row).onConflictDoNothing().returning();
  if (inserted.length === 0) {
    throw new ProblemError("topic-exists", { detail: `Topic "${input.id}" exists.` });
  }
  return toTopic(row);
}
