/**
 * The placeholder language of Grounds templates: a small, logic-less subset
 * of Mustache, enough for e-mail and nothing that can run code.
 *
 *     {{title}}                  a value from `data`, HTML-escaped in the HTML part
 *     {{#items}} … {{/items}}    repeated for each object of the array `data.items`,
 *                                whose fields are the only data inside (so an
 *                                item without a title is an error, not the
 *                                outer title); a non-empty scalar renders the
 *                                part once with the outer data, a missing or
 *                                empty value not at all
 *     {{recipient.first_name}}   a per-recipient value: becomes a substitution key
 *                                that the provider replaces for each recipient
 *     {{grounds.why}}            a value the gateway supplies (compliance footer)
 *
 * A placeholder that is the whole value of an `href`/`src` attribute is a
 * link: its value must be an http(s) or mailto URL, so data cannot smuggle
 * a `javascript:` link into a message.
 *
 * Templates are rendered strictly (a missing value is an error: a newsletter
 * with an empty title is refused rather than sent). A caller's own html/text
 * is rendered leniently: it may contain braces of its own, so only names the
 * data (or the gateway) knows are replaced, and sections are not recognised.
 */
import type { ProblemField } from "../../problems.js";
import { escapeHtml } from "./escape.js";
import type { TemplatePlaceholder } from "./template-types.js";

export type PlaceholderNode =
  | { type: "text"; value: string }
  | { type: "var"; name: string; url: boolean; raw: string }
  | { type: "section"; name: string; children: PlaceholderNode[] };

const TOKEN = /\{\{\s*([#/]?)\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}/g;
// The placeholder is the whole (quoted or bare) value of a link attribute.
const URL_BEFORE = /\b(?:href|src|action|background)\s*=\s*["']?$/i;
const URL_AFTER = /^(?:["'\s>]|\/>|$)/;

export class TemplateSyntaxError extends Error {
  override readonly name = "TemplateSyntaxError";
}

/**
 * Parses placeholders. With `sections: false` (a caller's content),
 * `{{#…}}`/`{{/…}}` are left as text; with `sections: true` (our templates),
 * an unbalanced section throws a TemplateSyntaxError (a build error).
 */
export function parsePlaceholders(
  source: string,
  options: { sections: boolean },
): PlaceholderNode[] {
  const root: PlaceholderNode[] = [];
  const stack: { name: string; children: PlaceholderNode[] }[] = [];
  let current = root;
  let last = 0;
  const pushText = (value: string) => {
    if (value.length > 0) current.push({ type: "text", value });
  };
  for (const match of source.matchAll(TOKEN)) {
    const [raw, sigil = "", name = ""] = match;
    const index = match.index;
    if (sigil !== "" && !options.sections) continue;
    pushText(source.slice(last, index));
    last = index + raw.length;
    if (sigil === "#") {
      const children: PlaceholderNode[] = [];
      current.push({ type: "section", name, children });
      stack.push({ name, children: current });
      current = children;
    } else if (sigil === "/") {
      const open = stack.pop();
      if (!open || open.name !== name) {
        throw new TemplateSyntaxError(
          `{{/${name}}} closes ${open ? `{{#${open.name}}}` : "nothing"}`,
        );
      }
      current = open.children;
    } else {
      const url =
        URL_BEFORE.test(source.slice(Math.max(0, index - 40), index)) &&
        URL_AFTER.test(source.slice(last, last + 2));
      current.push({ type: "var", name, url, raw });
    }
  }
  pushText(source.slice(last));
  const unclosed = stack.pop();
  if (unclosed) throw new TemplateSyntaxError(`{{#${unclosed.name}}} is never closed`);
  return root;
}

/** Every placeholder of a parsed template, once, in order of appearance. */
export function listPlaceholders(nodes: readonly PlaceholderNode[]): TemplatePlaceholder[] {
  const out: TemplatePlaceholder[] = [];
  const seen = new Set<string>();
  const walk = (list: readonly PlaceholderNode[], section: string | null) => {
    for (const node of list) {
      if (node.type === "text") continue;
      const kind = node.type === "section" ? "section" : node.url ? "url" : "text";
      const id = `${section ?? ""}/${node.name}/${kind}`;
      if (!seen.has(id)) {
        seen.add(id);
        out.push({ name: node.name, kind, section });
      }
      if (node.type === "section") walk(node.children, node.name);
    }
  };
  walk(nodes, null);
  return out;
}

export type SubstitutionVariant = "html" | "text";

/**
 * The substitution key a per-recipient value travels under (SendGrid's
 * `personalizations[].substitutions`). The HTML and text parts have keys of
 * their own, so the value in the HTML is escaped and in the text is not.
 */
export function substitutionKey(name: string, variant: SubstitutionVariant): string {
  return `%%grounds:${name}:${variant}%%`;
}

export interface RenderOptions {
  /** How values from `data` are written: HTML-escaped, or as they are. */
  mode: "html" | "text";
  /** Which variant of substitution key per-recipient placeholders become. */
  keys: SubstitutionVariant;
  data: Readonly<Record<string, unknown>>;
  /** Gateway values known for the whole message (`grounds.legal_name`, …). */
  messageValues: Readonly<Record<string, string>>;
  /** Per-recipient gateway values this kind of message has (`grounds.why`, …). */
  recipientValues: ReadonlySet<string>;
  /** Per-recipient gateway values other kinds of message have (an error here). */
  otherRecipientValues: ReadonlySet<string>;
  /** Templates: a missing value is an error. Caller content: left as written. */
  strict: boolean;
  /** JSON pointer of the content being rendered, for errors about it. */
  source: string;
}

export interface RenderState {
  errors: ProblemField[];
  /** Names used as `{{recipient.*}}`. */
  recipientFields: Set<string>;
}

export function newRenderState(): RenderState {
  return { errors: [], recipientFields: new Set() };
}

interface Scope {
  values: Readonly<Record<string, unknown>>;
  pointer: string;
}

export function render(
  nodes: readonly PlaceholderNode[],
  options: RenderOptions,
  state: RenderState,
): string {
  return renderNodes(nodes, [{ values: options.data, pointer: "/data" }], options, state);
}

function renderNodes(
  nodes: readonly PlaceholderNode[],
  scopes: readonly Scope[],
  options: RenderOptions,
  state: RenderState,
): string {
  let out = "";
  for (const node of nodes) {
    if (node.type === "text") out += node.value;
    else if (node.type === "var") out += renderVar(node, scopes, options, state);
    else out += renderSection(node, scopes, options, state);
  }
  return out;
}

function renderVar(
  node: Extract<PlaceholderNode, { type: "var" }>,
  scopes: readonly Scope[],
  options: RenderOptions,
  state: RenderState,
): string {
  const fail = (pointer: string, detail: string) => {
    state.errors.push({ pointer, detail });
    return "";
  };
  const [namespace, field] = splitName(node.name);
  if (namespace === "grounds" && field !== null) {
    const value = options.messageValues[node.name];
    if (value !== undefined) return options.mode === "html" ? escapeHtml(value) : value;
    if (options.recipientValues.has(field)) {
      // The preference page is the unsubscribe link's page: one substitution serves both.
      return field === "preferences_url"
        ? `${substitutionKey("unsubscribe_url", options.keys)}#preferences`
        : substitutionKey(field, options.keys);
    }
    if (options.otherRecipientValues.has(field)) {
      return fail(options.source, `{{${node.name}}} is not available in this kind of message`);
    }
    return options.strict ? fail(options.source, `unknown placeholder {{${node.name}}}`) : node.raw;
  }
  if (namespace === "recipient" && field !== null) {
    if (node.url) {
      return fail(
        options.source,
        `{{${node.name}}} cannot be a whole link: links are checked once per message`,
      );
    }
    state.recipientFields.add(field);
    return substitutionKey(node.name, options.keys);
  }
  if (field !== null) {
    return options.strict ? fail(options.source, `unknown placeholder {{${node.name}}}`) : node.raw;
  }
  const found = lookup(scopes, node.name);
  if (!found) {
    if (!options.strict) return node.raw;
    const scope = scopes[0];
    return fail(`${scope?.pointer ?? "/data"}/${node.name}`, "required by the template");
  }
  const text = scalarText(found.value);
  if (text === null) return fail(found.pointer, "must be text, a number or a boolean");
  if (node.url) {
    if (!isSafeLink(text)) return fail(found.pointer, "must be an http(s) or mailto URL");
    return options.mode === "html" ? escapeHtml(text) : text;
  }
  if (options.mode === "text") return text;
  // Line breaks the sender typed stay line breaks in the HTML part.
  return escapeHtml(text.replace(/\r\n?/g, "\n")).replace(/\n/g, "<br>\n");
}

function renderSection(
  node: Extract<PlaceholderNode, { type: "section" }>,
  scopes: readonly Scope[],
  options: RenderOptions,
  state: RenderState,
): string {
  const found = lookup(scopes, node.name);
  if (!found) return "";
  const { value, pointer } = found;
  if (Array.isArray(value)) {
    let out = "";
    value.forEach((item: unknown, index) => {
      const itemPointer = `${pointer}/${index}`;
      if (!isRecord(item)) {
        state.errors.push({ pointer: itemPointer, detail: "must be an object" });
        return;
      }
      out += renderNodes(node.children, [{ values: item, pointer: itemPointer }], options, state);
    });
    return out;
  }
  if (isRecord(value)) {
    state.errors.push({ pointer, detail: "must be a list, or a value that switches a part on" });
    return "";
  }
  return value === null || value === false || value === "" || value === 0
    ? ""
    : renderNodes(node.children, scopes, options, state);
}

function splitName(name: string): [string, string | null] {
  const dot = name.indexOf(".");
  return dot < 0 ? [name, null] : [name.slice(0, dot), name.slice(dot + 1)];
}

/** Own properties only: `{{constructor}}` must not reach Object.prototype. */
function lookup(
  scopes: readonly Scope[],
  name: string,
): { value: unknown; pointer: string } | null {
  for (const scope of scopes) {
    if (Object.hasOwn(scope.values, name) && scope.values[name] !== undefined) {
      return { value: scope.values[name], pointer: `${scope.pointer}/${name}` };
    }
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The text of a scalar value; null for objects, arrays and null. */
export function scalarText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return null;
}

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** An absolute http(s) or mailto URL with no whitespace or control characters. */
export function isSafeLink(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(value)) return false;
  try {
    return SAFE_PROTOCOLS.has(new URL(value).protocol);
  } catch {
    return false;
  }
}
