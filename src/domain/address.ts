/**
 * E-mail addresses as the gateway checks and keys them: ONE syntax for every
 * endpoint, so what can be mailed can be objected for (docs/design.md §2).
 *
 * A subject is matched case-insensitively after trimming: mailbox providers
 * treat addresses so, and an objection must not be dodged by a change of case.
 * An internationalised domain and its punycode spelling are the same subject:
 * domains are compared after UTS #46 (IDNA) mapping to ASCII. The address as
 * given is kept separately for display.
 */

// RFC 5321 §4.1.2 Dot-string: atoms of atext (RFC 5322 §3.2.3, `'`, `=`, `+`
// and the rest included) joined by single dots, extended by RFC 6531 §3.3 with
// any non-ASCII character (UTF8-non-ascii) — here every one that is not a
// control, format, unassigned or private-use character or a space. A quoted
// local part ("john doe"@…) is refused, as SendGrid refuses it.
const ATOM = /^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\p{ASCII}\p{C}\p{Z}])+$/u;
// RFC 1035 §2.3.1 / RFC 5890 A-labels: letters, digits, inner hyphens.
const ASCII_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
// What may reach the URL parser as a host: no separators it would read as
// another part of a URL, no percent-encoding, no spaces or controls.
const NOT_A_HOST = /[\s/?#@:[\]\\%<>^|"`{}\p{C}]/u;

const octets = (text: string) => new TextEncoder().encode(text).length;

/** Whether a text is plain ASCII (the common case: handled exactly as ever). */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * A domain in its ASCII (A-label) form, lower-cased: `bücher.example` and
 * `XN--BCHER-KVA.example` both give `xn--bcher-kva.example`. The UTS #46
 * mapping is the platform's own (the WHATWG URL host parser, the same in Node
 * and workerd). Null when it is not a domain name.
 */
export function asciiDomain(raw: string): string | null {
  const domain = raw.trim();
  let ascii: string;
  if (isAscii(domain)) ascii = domain.toLowerCase();
  else {
    if (domain === "" || NOT_A_HOST.test(domain)) return null;
    try {
      ascii = new URL(`http://${domain}`).hostname;
    } catch {
      return null;
    }
  }
  if (ascii.length > 253) return null;
  const labels = ascii.split(".");
  if (labels.length < 2) return null;
  return labels.every((label) => ASCII_LABEL.test(label)) ? ascii : null;
}

function parts(raw: string): { local: string; domain: string } | null {
  const address = raw.trim();
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * Whether `raw` is a mailbox the gateway takes (RFC 5321 §4.1.2, RFC 6531
 * §3.3): a dot-string local part of at most 64 octets, and a domain name —
 * ASCII, or internationalised (it must then map to valid A-labels) — the
 * whole at most 254 octets.
 */
export function isValidAddress(raw: string): boolean {
  const split = parts(raw);
  if (!split) return false;
  const { local, domain } = split;
  if (octets(local) > 64) return false;
  if (!local.split(".").every((atom) => ATOM.test(atom))) return false;
  const ascii = asciiDomain(domain);
  return ascii !== null && octets(local) + 1 + ascii.length <= 254;
}

/**
 * The form an address is matched (and its subject keyed) by. A plain ASCII
 * address is trimmed and lower-cased — exactly as every earlier version did,
 * so the subjects already stored keep their keys. Otherwise the local part is
 * NFC-normalised (RFC 6532 §3.1) and lower-cased, and the domain takes its
 * ASCII form, so an IDN and its punycode spelling are one subject.
 */
export function normaliseAddress(raw: string): string {
  const trimmed = raw.trim();
  if (isAscii(trimmed)) return trimmed.toLowerCase();
  const split = parts(trimmed);
  if (!split) return trimmed.normalize("NFC").toLowerCase();
  const domain = asciiDomain(split.domain) ?? split.domain.normalize("NFC").toLowerCase();
  return `${split.local.normalize("NFC").toLowerCase()}@${domain}`;
}

/** The domain part of an address, lower-cased (for verified From domains). */
export function domainOf(address: string): string {
  return address
    .slice(address.lastIndexOf("@") + 1)
    .trim()
    .toLowerCase();
}
