import * as v from "valibot";
import { readInstant } from "../../domain/instant.js";
import {
  ConsentBody,
  CustomerBody,
  ObjectionBody,
  SuppressionBody,
  TopicId,
} from "../../http/schemas.js";

/**
 * The rows of a generic import (NDJSON, and CSV once its columns are read):
 * each is the body of the matching evidence write of the API (docs/design.md §5),
 * with a `type`. The API's own schemas are reused; only what an import must
 * read differently is changed: times may come without a zone (spreadsheets
 * and exports write them so; they are read as UTC), a consent's topics may
 * be the import's default ones, its method is always `import`, and the
 * wording shown may be known by version only.
 */

export const IMPORT_FORMATS = ["csv", "ndjson", "mailchimp", "listmonk", "sendgrid"] as const;

/** The suppression lists SendGrid exports (`format=sendgrid&list=…`). */
export const SENDGRID_LISTS = [
  "global-unsubscribes",
  "group-unsubscribes",
  "bounces",
  "blocks",
  "spam-reports",
  "invalid-emails",
] as const;
export type SendGridList = (typeof SENDGRID_LISTS)[number];
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export const IMPORT_ROW_TYPES = ["consent", "customer", "objection", "suppression"] as const;
export type ImportRowType = (typeof IMPORT_ROW_TYPES)[number];

/** A time in an imported file (see `readInstant`): as epoch milliseconds. */
export const ImportInstant = v.pipe(
  v.string("must be a date or time"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const reading = readInstant(dataset.value);
    if (!reading.ok) {
      addIssue({
        message: reading.reason === "impossible-date" ? "an impossible date" : "not a date or time",
      });
      return NEVER;
    }
    return reading.at;
  }),
);

const consent = ConsentBody.entries;
const customer = CustomerBody.entries;
const objection = ObjectionBody.entries;
const suppression = SuppressionBody.entries;

export const ImportConsentRow = v.strictObject({
  type: v.literal("consent"),
  ...consent,
  topics: v.optional(consent.topics),
  action: v.optional(consent.action, "grant"),
  collectedAt: ImportInstant,
  source: v.optional(v.partial(consent.source)),
  wording: v.optional(v.partial(v.unwrap(consent.wording), ["text"])),
  confirmedAt: v.optional(ImportInstant),
});

export const ImportCustomerRow = v.strictObject({
  type: v.literal("customer"),
  ...customer,
  since: ImportInstant,
  lastPurchaseAt: ImportInstant,
  categories: v.optional(customer.categories, []),
  optOutOfferedAt: v.optional(ImportInstant),
});

export const ImportObjectionRow = v.strictObject({
  type: v.literal("objection"),
  ...objection,
  topics: v.optional(objection.topics),
  receivedAt: ImportInstant,
});

export const ImportSuppressionRow = v.strictObject({
  type: v.literal("suppression"),
  ...suppression,
  at: v.optional(ImportInstant),
});

export const ImportRowSchema = v.variant(
  "type",
  [ImportConsentRow, ImportCustomerRow, ImportObjectionRow, ImportSuppressionRow],
  `type must be one of ${IMPORT_ROW_TYPES.join(", ")}`,
);

export type ImportRowInput = v.InferOutput<typeof ImportRowSchema>;

/** The first thing wrong with a row, as `field: why`, without the value. */
export function firstIssue(
  issues: readonly v.BaseIssue<unknown>[],
  fieldName: (path: string) => string = (path) => path,
): string {
  const [issue] = issues;
  if (!issue) return "not a valid row";
  const path = (issue.path ?? [])
    .map((item) => String(item.key))
    .filter((key) => !/^\d+$/.test(key))
    .join(".");
  let message = issue.message.replace(/(:\s*Received\s.*|\s+but received\s.*)$/s, "");
  if (message.startsWith("Invalid key"))
    message = /Expected never\b/.test(message) ? "not a known field" : "required";
  else if (issue.type === "picklist" && issue.expected) {
    message = `must be one of ${issue.expected.replace(/["()]/g, "").split(" | ").join(", ")}`;
  } else if (message.startsWith("Invalid type")) {
    message = issue.expected ? `must be ${issue.expected.replace(/"/g, "")}` : "not valid";
  }
  return path ? `${fieldName(path)}: ${message}` : message;
}

const list = v.pipe(
  v.string(),
  v.transform((text) =>
    text
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  ),
);

/**
 * How to read an import file (the query of `POST /v1/imports`, the options
 * of `grounds import`): `topics` comma-separated, `map` as `field:Column`.
 */
export const ImportParameters = v.object({
  format: v.picklist(IMPORT_FORMATS, `must be one of ${IMPORT_FORMATS.join(", ")}`),
  topics: v.optional(v.pipe(list, v.array(TopicId)), ""),
  type: v.optional(v.picklist(IMPORT_ROW_TYPES)),
  map: v.optional(
    v.pipe(
      v.union([v.string(), v.array(v.string())]),
      v.transform((value) => (Array.isArray(value) ? value : [value])),
      v.array(v.pipe(v.string(), v.regex(/^[A-Za-z]+:.+$/, "field:column"))),
      v.transform(
        (pairs) =>
          Object.fromEntries(
            pairs.map((pair) => [
              pair.slice(0, pair.indexOf(":")),
              pair.slice(pair.indexOf(":") + 1),
            ]),
          ) as Record<string, string>,
      ),
    ),
  ),
  subscription: v.optional(v.picklist(["confirmed", "unsubscribed"])),
  list: v.optional(v.picklist(SENDGRID_LISTS, `must be one of ${SENDGRID_LISTS.join(", ")}`)),
});
