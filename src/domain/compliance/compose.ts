/**
 * Composing a message that carries what the law asks of it (docs/design.md §4), once
 * for all its recipients, or refusing it before anything is sent.
 */
import { FOOTERS, TEMPLATES } from "../../generated/templates.js";
import { ProblemError, type ProblemField } from "../../problems.js";
import { isValidAddress } from "../address.js";
import type { Topic } from "../topic.js";
import { assertHeaderSafe, hasControlCharacters, type Mailbox } from "./headers.js";
import { htmlToText } from "./html-to-text.js";
import {
  newRenderState,
  type PlaceholderNode,
  parsePlaceholders,
  type RenderState,
  render,
} from "./placeholders.js";
import { assertSenderIdentity, assertVerifiedSenderDomain, type SenderIdentity } from "./sender.js";
import { type MessageKind, messageGatewayValues, recipientValuesOf } from "./substitutions.js";
import type { CompiledTemplate, TemplateClass } from "./template-types.js";

export interface ComposeInput {
  identity: SenderIdentity;
  topic: Pick<Topic, "id" | "name" | "class">;
  from: Mailbox;
  replyTo?: Mailbox | undefined;
  /** The tenant's verified sending domains. */
  domains: readonly string[];
  subject: string;
  /** A compiled template's name (templates/<name>.mjml) … */
  template?: string | undefined;
  /** … with the values of its placeholders, … */
  data?: Readonly<Record<string, unknown>> | undefined;
  /** … or the caller's own content. */
  html?: string | undefined;
  text?: string | undefined;
  /** Custom headers of the message, checked for injection. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Recipients, checked for injection in their names (they go into To). */
  recipients?: readonly Mailbox[] | undefined;
  /** The language of the gateway's footer (BCP 47; `en` unless given). */
  locale?: string | undefined;
}

export interface ComposedMessage {
  kind: MessageKind;
  /** Subject line; may hold `%%grounds:recipient.*:text%%` keys. */
  subject: string;
  /** The HTML part, or null when the caller gave only text. */
  html: string | null;
  /** The plain-text part: always present. */
  text: string;
  /** Fields used as `{{recipient.*}}`: `recipientSubstitutions` fills each. */
  recipientFields: readonly string[];
  /** Those of them used in the subject (checked for header injection). */
  subjectRecipientFields: readonly string[];
}

const ALL_KINDS: readonly MessageKind[] = ["marketing", "service", "confirmation"];

/**
 * Composes the message, or throws a ProblemError: `header-injection`,
 * `reserved-header`, `invalid-request`, `sender-identity-missing`,
 * `unverified-sender-domain`, `message-content-missing`, `unknown-template`,
 * `template-topic-mismatch`, `invalid-template-data`.
 *
 * Every message gets the sender's identity and, as a per-recipient
 * substitution, the "why you receive this" sentence; a marketing message also
 * the commercial-communication notice, the right to object stated apart (GDPR
 * Art. 21(4)) and the recipient's unsubscribe and preference links (Act
 * 480/2004 §7(4), CAN-SPAM 15 U.S.C. 7704(a)(3) and (a)(5)). A caller's HTML
 * gets the footer inside its `</body>`; its text gets the text footer.
 */
export function composeMessage(input: ComposeInput): ComposedMessage {
  assertHeaderSafe({
    subject: input.subject,
    from: input.from,
    replyTo: input.replyTo,
    recipients: input.recipients,
    headers: input.headers,
  });
  assertSenderIdentity(input.identity);
  assertVerifiedSenderDomain(input.from.email, input.domains);
  if (input.replyTo && !isValidAddress(input.replyTo.email)) {
    throw new ProblemError("invalid-request", {
      detail: "The Reply-To address is not a valid e-mail address.",
      errors: [{ pointer: "/replyTo/email", detail: "not a valid e-mail address" }],
    });
  }

  const subject = input.subject.trim();
  const hasCallerContent = nonEmpty(input.html) || nonEmpty(input.text);
  if (subject === "") {
    throw new ProblemError("message-content-missing", {
      detail: "The message has no subject.",
      errors: [{ pointer: "/subject", detail: "empty" }],
    });
  }
  if (input.template !== undefined && hasCallerContent) {
    throw new ProblemError("invalid-request", {
      detail: "Give either a template or html/text, not both.",
      errors: [{ pointer: "/template", detail: "given together with html or text" }],
    });
  }

  const template = input.template === undefined ? null : findTemplate(input.template);
  if (!template && !hasCallerContent) {
    throw new ProblemError("message-content-missing", {
      detail: "Give a template, or html or text.",
      errors: [{ pointer: "/html", detail: "no template, html or text" }],
    });
  }
  const kind = template ? kindFor(template, input.topic) : input.topic.class;

  const data = input.data ?? {};
  const state = newRenderState();
  const messageValues = {
    "grounds.legal_name": input.identity.legalName.trim(),
    "grounds.contact_email": input.identity.contactEmail.trim(),
    "grounds.topic_name": input.topic.name.trim(),
    ...messageGatewayValues(kind, input.identity, input.topic.name, input.locale),
  };
  const recipientValues = recipientValuesOf(kind);
  const otherRecipientValues = new Set(
    ALL_KINDS.flatMap((k) => [...recipientValuesOf(k)]).filter((v) => !recipientValues.has(v)),
  );
  const renderer =
    (strict: boolean) =>
    (
      nodes: readonly PlaceholderNode[],
      mode: "html" | "text",
      keys: "html" | "text",
      source: string,
      renderState: RenderState = state,
    ) =>
      render(
        nodes,
        {
          mode,
          keys,
          data,
          messageValues,
          recipientValues,
          otherRecipientValues,
          strict,
          source,
        },
        renderState,
      );

  let html: string | null;
  let text: string;
  if (template) {
    const strict = renderer(true);
    html = strict(parse(template.html, true), "html", "html", "/template");
    text = tidyText(strict(parse(template.text, true), "text", "text", "/template"));
  } else {
    const lenient = renderer(false);
    const footer = FOOTERS[kind === "marketing" ? "marketing" : "service"];
    const strict = renderer(true);
    const footerHtml = strict(parse(footer.html, true), "html", "html", "/footer");
    const footerText = tidyText(strict(parse(footer.text, true), "text", "text", "/footer"));
    const callerHtml = nonEmpty(input.html) ? parse(input.html, false) : null;
    const callerText = nonEmpty(input.text) ? parse(input.text, false) : null;
    html = callerHtml
      ? appendToBody(lenient(callerHtml, "html", "html", "/html"), footerHtml)
      : null;
    const body = callerText
      ? lenient(callerText, "text", "text", "/text").trimEnd()
      : callerHtml
        ? // Values escaped into the HTML are decoded back by the conversion;
          // per-recipient keys are the text ones, for the text part.
          htmlToText(lenient(callerHtml, "html", "text", "/html"))
        : "";
    text = `${body}\n\n${footerText}\n`;
  }

  // The subject is a header: data filled into it must not inject either.
  const subjectState = newRenderState();
  const renderedSubject = renderer(false)(
    parse(subject, false),
    "text",
    "text",
    "/subject",
    subjectState,
  );
  state.errors.push(...subjectState.errors);
  if (state.errors.length > 0) {
    throw new ProblemError("invalid-template-data", {
      detail: "Some values the content needs are missing or not usable.",
      errors: unique(state.errors),
    });
  }
  if (hasControlCharacters(renderedSubject)) {
    throw new ProblemError("header-injection", {
      detail: "A value filled into the subject contains a control character.",
      errors: [{ pointer: "/subject", detail: "contains a control character after filling" }],
    });
  }

  const subjectRecipientFields = [...subjectState.recipientFields];
  return {
    kind,
    subject: renderedSubject,
    html,
    text,
    recipientFields: [...new Set([...state.recipientFields, ...subjectRecipientFields])],
    subjectRecipientFields,
  };
}

/** The templates the gateway has: name, class, description and the data it needs. */
export function listTemplates(): {
  name: string;
  class: TemplateClass;
  description: string;
  placeholders: CompiledTemplate["placeholders"];
}[] {
  return Object.values(TEMPLATES).map(({ name, description, placeholders, ...rest }) => ({
    name,
    class: rest.class,
    description,
    placeholders: placeholders.filter((p) => !p.name.startsWith("grounds.")),
  }));
}

function findTemplate(name: string): CompiledTemplate {
  const template = Object.hasOwn(TEMPLATES, name) ? TEMPLATES[name] : undefined;
  if (!template) {
    throw new ProblemError("unknown-template", {
      detail: `Known templates: ${Object.keys(TEMPLATES).join(", ")}.`,
      errors: [{ pointer: "/template", detail: "no such template" }],
    });
  }
  return template;
}

/**
 * A marketing template only for marketing topics, a service template only
 * for service topics: a marketing message must not go out without its
 * unsubscribe, nor a service message with one (it would be read as
 * advertising). The confirmation request belongs to the marketing topic it
 * asks consent for, and advertises nothing.
 */
function kindFor(template: CompiledTemplate, topic: ComposeInput["topic"]): MessageKind {
  const expected = template.class === "service" ? "service" : "marketing";
  if (topic.class !== expected) {
    throw new ProblemError("template-topic-mismatch", {
      detail: `The ${template.name} template is for ${expected} topics; this topic is ${topic.class}.`,
      errors: [{ pointer: "/template", detail: `for ${expected} topics only` }],
    });
  }
  return template.class;
}

const parsed = new Map<string, PlaceholderNode[]>();

/** Compiled templates are parsed once per process. */
function parse(source: string, sections: boolean): PlaceholderNode[] {
  if (!sections) return parsePlaceholders(source, { sections });
  let nodes = parsed.get(source);
  if (!nodes) {
    nodes = parsePlaceholders(source, { sections });
    parsed.set(source, nodes);
  }
  return nodes;
}

/** The footer goes inside the caller's last `</body>`, or at the end. */
function appendToBody(html: string, footer: string): string {
  const at = html.search(/<\/body\s*>(?![\s\S]*<\/body\s*>)/i);
  return at < 0 ? `${html}\n${footer}\n` : `${html.slice(0, at)}${footer}\n${html.slice(at)}`;
}

/** Blank lines left by sections and layout collapsed to one. */
function tidyText(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== "";
}

function unique(errors: readonly ProblemField[]): ProblemField[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = `${e.pointer}\n${e.detail}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
