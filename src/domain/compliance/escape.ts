import { escapeToBuffer } from "hono/utils/html";

/**
 * HTML-escapes a value filled into a template (& < > " '), so it is safe in
 * text and in a quoted attribute. Hono's escaper: already a dependency, pure,
 * edge-safe, and kept by a project that relies on it for its own JSX.
 */
export function escapeHtml(value: string): string {
  const buffer: [string] = [""];
  escapeToBuffer(value, buffer);
  return buffer[0];
}
