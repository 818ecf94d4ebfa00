/**
 * Message compliance (docs/design.md §4): what every message must carry, composed
 * once per message, with per-recipient values as provider substitutions.
 */
export {
  type ComposedMessage,
  type ComposeInput,
  composeMessage,
  listTemplates,
} from "./compose.js";
export { escapeHtml } from "./escape.js";
export {
  assertHeaderSafe,
  complianceHeaders,
  type HeaderFields,
  hasControlCharacters,
  isReservedHeader,
  type Mailbox,
} from "./headers.js";
export { htmlToText } from "./html-to-text.js";
export { substitutionKey } from "./placeholders.js";
export {
  assertSenderIdentity,
  assertVerifiedSenderDomain,
  canonicalDomain,
  type SenderIdentity,
} from "./sender.js";
export {
  applySubstitutions,
  COMMON_RECIPIENT_VALUES,
  MARKETING_RECIPIENT_VALUES,
  type MessageKind,
  type RecipientSubstitutionInput,
  recipientSubstitutions,
} from "./substitutions.js";
export type { CompiledTemplate, TemplateClass, TemplatePlaceholder } from "./template-types.js";
export { LOCALES, type Locale, resolveLocale } from "./wording.js";
