/**
 * The shape of the templates compiled at build time (scripts/build-templates.ts
 * writes src/generated/templates.ts): MJML is compiled to HTML once, on the
 * developer's machine, so nothing of MJML runs — or is bundled — at run time
 * (docs/design.md §7; mjml costs a 3 MB bundle and a 1.5 s first request on the edge).
 */

/**
 * What a template may be sent as:
 * - `marketing`: commercial communication; it must include the compliance
 *   footer (templates/parts/footer.mjml) and is sent for marketing topics;
 * - `service`: a contract or legal-obligation message; it carries the sender
 *   identity (templates/parts/sender.mjml) and no marketing footer;
 * - `confirmation`: the double opt-in request for a marketing topic; it
 *   advertises nothing, so it carries the sender identity and no unsubscribe.
 */
export type TemplateClass = "marketing" | "service" | "confirmation";

export interface TemplatePlaceholder {
  /** `title`, `items`, `recipient.name`, `grounds.why`, … */
  name: string;
  /** `url`: the whole value of an href/src attribute, checked to be a link. */
  kind: "text" | "url" | "section";
  /** The enclosing `{{#section}}`, or null at the top level. */
  section: string | null;
}

export interface CompiledTemplate {
  name: string;
  class: TemplateClass;
  description: string;
  /** The compiled HTML with its `{{placeholders}}` still in place. */
  html: string;
  /** The plain-text part, derived from the HTML at build time, placeholders in place. */
  text: string;
  placeholders: readonly TemplatePlaceholder[];
}

/** The compliance footer alone, appended to a caller's own html/text. */
export interface CompiledFooter {
  html: string;
  text: string;
}
