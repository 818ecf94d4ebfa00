import * as v from "valibot";
import { ProblemError } from "../problems.js";

/**
 * The one pagination style of every list endpoint (README "Lists"): the
 * query takes `limit` (1–500, default 100) and an opaque `cursor`; the answer
 * holds the page under the list's own name (`keys`, `suppressions`, …) and
 * `nextCursor`, which is null on the last page. A client passes `nextCursor`
 * back as `cursor`, unchanged, with the same filters.
 *
 * A cursor is the sort key of the last item shown (base64url of its JSON),
 * so a page is a range read on an index, and an item written meanwhile
 * neither shifts a page nor shows twice. It carries no personal data: sort
 * keys are times and ids.
 */

export const PAGE_LIMIT = { default: 100, max: 500 } as const;

/** The position after which the next page starts: the last item's sort key. */
export type Position = readonly (string | number)[];

const Limit = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^\d{1,4}$/, `an integer from 1 to ${PAGE_LIMIT.max}`),
    v.transform(Number),
    v.minValue(1, `an integer from 1 to ${PAGE_LIMIT.max}`),
    v.maxValue(PAGE_LIMIT.max, `an integer from 1 to ${PAGE_LIMIT.max}`),
  ),
  String(PAGE_LIMIT.default),
);

const Cursor = v.optional(
  v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,400}$/, "a cursor from an earlier answer")),
);

/** The query fields of a page; spread them into a list endpoint's query schema. */
export const PageQueryFields = { limit: Limit, cursor: Cursor };

export const PageQuery = v.object(PageQueryFields);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCursor(position: Position): string {
  const bytes = encoder.encode(JSON.stringify(position));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

type SortKeyKind = "string" | "number";
type SortKeyOf = { string: string; number: number };

/**
 * The position a cursor names, checked against the shape the list sorts by
 * (`kinds`: the type of each sort key), and typed by it. A cursor that does
 * not decode is a 400 naming `cursor`, never echoing it.
 */
export function decodeCursor<const Kinds extends readonly SortKeyKind[]>(
  cursor: string | undefined,
  kinds: Kinds,
): { readonly [I in keyof Kinds]: SortKeyOf[Kinds[I]] } | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    parsed = JSON.parse(decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    parsed = undefined;
  }
  if (!isPositionOf(kinds, parsed)) {
    throw new ProblemError("invalid-request", {
      detail: "The cursor is not one this list gave.",
      errors: [{ pointer: "/query/cursor", detail: "a cursor from an earlier answer" }],
    });
  }
  return parsed;
}

/** Whether `value` is a position of the shape `kinds` describe, key by key. */
function isPositionOf<const Kinds extends readonly SortKeyKind[]>(
  kinds: Kinds,
  value: unknown,
): value is { readonly [I in keyof Kinds]: SortKeyOf[Kinds[I]] } {
  return (
    Array.isArray(value) &&
    value.length === kinds.length &&
    value.every((key, i) => typeof key === kinds[i])
  );
}

/**
 * A page of `rows` read with `limit + 1`: the extra row only says that there
 * is a next page, which starts after the last row shown.
 */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  positionOf: (row: T) => Position,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}

/** The `nextCursor` member of a list's answer schema (OpenAPI). */
export const NextCursor = v.pipe(
  v.nullable(v.string()),
  v.description("Pass as `cursor` for the next page; null on the last page."),
);
