/**
 * SendGrid's v3 `mail/send` as the drop-in reads it (docs/design.md §5): SendGrid's
 * own unsubscribe substitution tags, turned into the gateway's per-recipient
 * links, and the limits SendGrid sets on a mail, checked before anything is
 * decided so that a mail the gateway accepts is not refused by SendGrid
 * later. Pure: no runtime, database or HTTP.
 *
 * Sources: the Mail Send reference and its limitations and errors pages
 * (twilio.com/docs/sendgrid/api-reference/mail-send), the Unsubscribe Groups
 * and Global Unsubscribes pages for the `<%asm_…%>` tags, and the Marketing
 * Campaigns pages for `[Unsubscribe]` and `{{{unsubscribe}}}`.
 */

/** The gateway's own placeholders (compliance/placeholders.ts) a tag becomes. */
const UNSUBSCRIBE_URL = "{{grounds.unsubscribe_url}}";
const PREFERENCES_URL = "{{grounds.preferences_url}}";
const UNSUBSCRIBE_LINK = {
  html: `<a href="${UNSUBSCRIBE_URL}">{{grounds.unsubscribe_label}}</a>`,
  text: `{{grounds.unsubscribe_label}}: ${UNSUBSCRIBE_URL}`,
};
const PREFERENCES_LINK = {
  html: `<a href="${PREFERENCES_URL}">{{grounds.preferences_label}}</a>`,
  text: `{{grounds.preferences_label}}: ${PREFERENCES_URL}`,
};

type Replacement = string | { html: string; text: string };

/**
 * SendGrid's unsubscribe tags and what each becomes. The group and the
 * global unsubscribe both open the recipient's own page, where one button
 * unsubscribes from the message's topic and another from everything: a link
 * cannot unsubscribe by itself, since link scanners follow links (RFC 8058
 * §3.2). The `_raw_url` tags are the bare URL; the others a link with
 * SendGrid's wording, here the gateway's.
 */
export const SENDGRID_UNSUBSCRIBE_TAGS: Readonly<Record<string, Replacement>> = {
  "<%asm_group_unsubscribe_raw_url%>": UNSUBSCRIBE_URL,
  "<%asm_global_unsubscribe_raw_url%>": UNSUBSCRIBE_URL,
  "<%asm_preferences_raw_url%>": PREFERENCES_URL,
  "<%asm_group_unsubscribe_url%>": UNSUBSCRIBE_LINK,
  "<%asm_global_unsubscribe_url%>": UNSUBSCRIBE_LINK,
  "<%asm_preferences_url%>": PREFERENCES_LINK,
  // Marketing Campaigns (legacy and new) and Subscription Tracking: URLs.
  "[unsubscribe]": UNSUBSCRIBE_URL,
  "[Unsubscribe]": UNSUBSCRIBE_URL,
  "[unsubscribe_preferences]": PREFERENCES_URL,
  "[Unsubscribe_Preferences]": PREFERENCES_URL,
  "{{{unsubscribe}}}": UNSUBSCRIBE_URL,
  "{{{unsubscribe_preferences}}}": PREFERENCES_URL,
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A tag as an HTML editor may have saved it: `<` and `>` as entities. */
function htmlEscaped(tag: string): string {
  return tag.replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Rewrites SendGrid's unsubscribe tags in one part of the content (and
 * `customTag`, the caller's `subscription_tracking.substitution_tag`, to the
 * unsubscribe URL). Answers the content and whether any tag was found.
 */
export function rewriteUnsubscribeTags(
  content: string,
  part: "html" | "text",
  customTag?: string,
): { content: string; found: boolean } {
  const replacements = new Map<string, string>();
  for (const [tag, replacement] of Object.entries(SENDGRID_UNSUBSCRIBE_TAGS)) {
    const value = typeof replacement === "string" ? replacement : replacement[part];
    replacements.set(tag, value);
    if (part === "html") replacements.set(htmlEscaped(tag), value);
  }
  if (customTag) replacements.set(customTag, UNSUBSCRIBE_URL);
  // Longest first, so that no tag is cut short by another that begins it.
  const tags = [...replacements.keys()].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(tags.map(escapeRegExp).join("|"), "g");
  let found = false;
  const rewritten = content.replace(pattern, (tag) => {
    found = true;
    return replacements.get(tag) ?? tag;
  });
  return { content: rewritten, found };
}

/** "The total size of your email, including attachments, must be less than 30MB" (limitations). */
export const MAX_MAIL_BYTES = 30 * 1024 * 1024;
/** "Scheduling more than 72 hours in advance is forbidden" (errors). */
export const MAX_SCHEDULE_AHEAD_MS = 72 * 60 * 60 * 1000;
/**
 * custom_args: at most 10,000 bytes per personalization, the message's and
 * the personalization's merged (errors, limitations). The gateway adds
 * `justification_id` to every personalization, so it keeps room for it.
 */
export const MAX_CUSTOM_ARGS_BYTES = 10_000 - 100;

/** Base64 as SendGrid takes an attachment (RFC 4648 §4, padded, no line breaks). */
export function isBase64(content: string): boolean {
  return content.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(content);
}

/** The bytes a base64 text decodes to. */
export function base64Bytes(content: string): number {
  const padding = content.endsWith("==") ? 2 : content.endsWith("=") ? 1 : 0;
  return (content.length / 4) * 3 - padding;
}

/** The size of a JSON object as SendGrid measures custom_args: its UTF-8 bytes. */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}
