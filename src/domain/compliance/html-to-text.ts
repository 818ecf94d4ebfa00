import { convert } from "html-to-text";

/**
 * The plain-text part of a message derived from its HTML (every message has
 * one: text-only clients, accessibility, and spam filters that score
 * HTML-only mail). html-to-text is pure JavaScript (htmlparser2, no Node
 * APIs), so it runs in workerd as well as in Node; the build uses the same
 * conversion for the compiled templates.
 *
 * Placeholders (`{{title}}`, `%%grounds:why:text%%`) pass through unchanged:
 * headings are not upper-cased (that would change `{{title}}`), and lines
 * are not wrapped: values are filled in later, so widths measured now would
 * be wrong, and a key split across lines would never be replaced. Long lines
 * are the transport's business (quoted-printable keeps them under RFC 5322's
 * 998 characters).
 */
export function htmlToText(html: string): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({
        selector,
        options: { uppercase: false },
      })),
      { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
      // Layout images (logos, spacers) say nothing in plain text.
      { selector: "img", format: "skip" },
    ],
  }).trim();
}
