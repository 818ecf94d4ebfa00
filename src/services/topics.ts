import { and, asc, eq } from "drizzle-orm";
import { topics } from "../db/schema.js";
import type { Topic } from "../domain/topic.js";
import { ProblemError } from "../problems.js";
import type { Deps } from "./deps.js";

type TopicRow = typeof topics.$inferSelect;

export function toTopic(row: TopicRow): Topic {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    class: row.class,
    categories: row.categories,
    serviceBasis: row.class === "service" ? (row.serviceBasis ?? "contract") : null,
    translations: row.translations,
  };
}

export async function findTopic(deps: Deps, tenantId: string, id: string): Promise<Topic | null> {
  const row = await deps.db.query.topics.findFirst({
    where: and(eq(topics.tenantId, tenantId), eq(topics.id, id)),
  });
  return row ? toTopic(row) : null;
}

export async function getTopic(deps: Deps, tenantId: string, id: string): Promise<Topic> {
  const topic = await findTopic(deps, tenantId, id);
  if (!topic) throw new ProblemError("topic-not-found", { detail: `No topic "${id}".` });
  return topic;
}

export async function listTopics(deps: Deps, tenantId: string): Promise<Topic[]> {
  const rows = await deps.db.query.topics.findMany({
    where: eq(topics.tenantId, tenantId),
    orderBy: asc(topics.id),
  });
  return rows.map(toTopic);
}

/**
 * The tenant's topics named in a request, all of which must exist. `*`
 * (all marketing) is allowed where `allowAll` says so.
 */
export async function requireTopics(
  deps: Deps,
  tenantId: string,
  ids: readonly string[],
  options: { allowAll?: boolean; marketingOnly?: boolean } = {},
): Promise<Map<string, Topic>> {
  const known = new Map((await listTopics(deps, tenantId)).map((t) => [t.id, t]));
  for (const [index, id] of ids.entries()) {
    if (id === "*" && options.allowAll) continue;
    const topic = known.get(id);
    if (!topic) {
      throw new ProblemError("unknown-topic", {
        detail: `Topic "${id}" is not defined for this tenant.`,
        errors: [{ pointer: `/topics/${index}`, detail: "unknown topic" }],
      });
    }
    if (options.marketingOnly && topic.class !== "marketing") {
      throw new ProblemError("not-a-marketing-topic", {
        detail: `Topic "${id}" is a service topic; service messages need no consent.`,
        errors: [{ pointer: `/topics/${index}`, detail: "service topic" }],
      });
    }
  }
  return known;
}
