/**
 * How deeply JSON a caller sends may nest. JSON.parse takes any depth, but
 * everything that walks the value afterwards (canonical JSON for the proof
 * log, JSON.stringify into storage, template placeholders) recurses, and
 * ~10,000 levels exhaust the stack: a request that can only be a mistake or
 * an attack then ended as a 500. Template data and provider events nest a
 * few levels; 32 leaves room for any real one.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether a parsed JSON value nests at most `max` arrays or objects deep.
 * Walked with an explicit stack: checking the depth must not itself recurse.
 */
export function isJsonWithinDepth(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== "object") continue;
    if (depth >= max) return false;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return true;
}
