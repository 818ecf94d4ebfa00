/**
 * Header fields: refusing injection, and the unsubscribe headers.
 */

import { ProblemError, type ProblemField } from "../../problems.js";
import { isValidAddress } from "../address.js";

/**
 * C0 controls (CR, LF, NUL, TAB, …), DEL, C1 controls (NEL U+0085 among
 * them) and the Unicode line and paragraph separators. CR/LF end a header
 * line and start another (RFC 5322 §2.2), which is how a Bcc or a second
 * body is smuggled in; the others are folded or mangled differently by
 * different MTAs. None belongs in a subject, a name or an address.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

/** RFC 5322 §3.6.8 field-name: printable US-ASCII except the colon. */
const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * Headers the gateway sets itself or the provider owns. A caller's
 * List-Unsubscribe would replace the one-click link the gateway answers
 * (RFC 8058), and X-SMTPAPI would reach SendGrid's own substitutions and
 * unsubscribe settings.
 */
const RESERVED_HEADERS = new Set([
  "list-unsubscribe",
  "list-unsubscribe-post",
  "list-id",
  "from",
  "sender",
  "to",
  "cc",
  "bcc",
  "reply-to",
  "subject",
  "date",
  "message-id",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "dkim-signature",
  "return-path",
  "received",
  "x-smtpapi",
  // SendGrid's own ("You may not override the following headers", v3 mail/send).
  "x-sg-id",
  "x-sg-eid",
]);

/** Whether a header is one the gateway or the provider sets, which a caller may not give. */
export function isReservedHeader(name: string): boolean {
  return RESERVED_HEADERS.has(name.toLowerCase());
}

export interface Mailbox {
  email: string;
  name?: string | undefined;
}

/** Every caller-given value that ends up in a header of the message. */
export interface HeaderFields {
  subject?: string | undefined;
  from?: Mailbox | undefined;
  replyTo?: Mailbox | undefined;
  recipients?: readonly Mailbox[] | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
}

/** RFC 6901 escaping of one reference token. */
function token(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * Refuses a message whose header fields carry a line break or another
 * control character (`header-injection`), or that sets a header the gateway
 * owns (`reserved-header`). Errors point at the fields, never quote them.
 */
export function assertHeaderSafe(fields: HeaderFields): void {
  const errors: ProblemField[] = [];
  const check = (pointer: string, value: string | undefined) => {
    if (value !== undefined && hasControlCharacters(value)) {
      errors.push({ pointer, detail: "contains a line break or another control character" });
    }
  };
  const mailbox = (pointer: string, box: Mailbox | undefined) => {
    if (!box) return;
    check(`${pointer}/email`, box.email);
    check(`${pointer}/name`, box.name);
  };
  check("/subject", fields.subject);
  mailbox("/from", fields.from);
  mailbox("/replyTo", fields.replyTo);
  fields.recipients?.forEach((recipient, index) => {
    mailbox(`/recipients/${index}`, recipient);
  });
  const reserved: ProblemField[] = [];
  for (const [name, value] of Object.entries(fields.headers ?? {})) {
    const pointer = `/headers/${token(name)}`;
    if (!FIELD_NAME.test(name)) {
      errors.push({ pointer, detail: "not a valid header name" });
    }
    check(pointer, value);
    if (isReservedHeader(name)) {
      reserved.push({ pointer, detail: "set by the gateway" });
    }
  }
  if (errors.length > 0) {
    throw new ProblemError("header-injection", {
      detail: "Header fields must not contain line breaks or other control characters.",
      errors,
    });
  }
  if (reserved.length > 0) {
    throw new ProblemError("reserved-header", {
      detail: "These headers are set by the gateway and cannot be given.",
      errors: reserved,
    });
  }
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * The unsubscribe headers of a marketing message (one recipient's):
 *
 *     List-Unsubscribe: <https://…/u/TOKEN>, <mailto:…?subject=unsubscribe%20TOKEN>
 *     List-Unsubscribe-Post: List-Unsubscribe=One-Click
 *
 * RFC 2369 §3.2: a comma-separated list of angle-bracketed URIs, the
 * preferred first. RFC 8058 §3.1: one HTTPS URI, and List-Unsubscribe-Post
 * with exactly `List-Unsubscribe=One-Click`, so the mailbox provider can
 * unsubscribe with one POST and no further page (required of bulk senders by
 * Gmail and Yahoo since 2024). Both headers must be covered by the DKIM
 * signature (RFC 8058 §4), which SendGrid's signing does.
 *
 * RFC 8058 requires the URI to be HTTPS: production's PUBLIC_URL must be
 * https; plain http is let through only so that a local gateway works.
 * The mailto carries the token in its subject (RFC 6068 percent-encoding),
 * so a mailed request identifies the same recipient and topic.
 */
export function complianceHeaders(input: {
  unsubscribeUrl: string;
  mailtoAddress: string;
  token: string;
}): { "List-Unsubscribe": string; "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" } {
  const { unsubscribeUrl, mailtoAddress, token: unsubscribeToken } = input;
  for (const value of [unsubscribeUrl, mailtoAddress, unsubscribeToken]) {
    if (hasControlCharacters(value)) {
      throw new ProblemError("header-injection", {
        detail: "An unsubscribe header value contains a control character.",
      });
    }
  }
  let url: URL;
  try {
    url = new URL(unsubscribeUrl);
  } catch {
    throw new TypeError("The unsubscribe URL is not a URL.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError("The unsubscribe URL must be https (RFC 8058 §3.1).");
  }
  if (!isValidAddress(mailtoAddress)) throw new TypeError("The unsubscribe mailbox is not valid.");
  if (!TOKEN.test(unsubscribeToken)) throw new TypeError("The unsubscribe token is not base64url.");
  // URL serialisation percent-encodes "<", ">" and spaces, which would end
  // the angle-bracketed URI early (RFC 2369 §2).
  const mailto = `mailto:${mailtoAddress.trim()}?subject=${encodeURIComponent(`unsubscribe ${unsubscribeToken}`)}`;
  return {
    "List-Unsubscribe": `<${url.href}>, <${mailto}>`,
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  };
}
