/**
 * E-mail addresses as the gateway keys them.
 *
 * A subject is matched case-insensitively after trimming: mailbox providers
 * treat addresses so, and an objection must not be dodged by a change of case
 * (DESIGN §2). The address as given is kept separately for display.
 */

// A pragmatic check of RFC 5321/5322 "addr-spec" as mail providers accept it:
// one @, a non-empty local part without spaces or control characters, and a
// domain of dot-separated labels with a TLD. It is not the full RFC grammar
// (quoted local parts are refused) — SendGrid refuses those too.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const INTERNATIONAL_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

export function isValidAddress(raw: string): boolean {
  const address = raw.trim();
  if (address.length > 254) return false;
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) return false;
  const labels = domain.split(".");
  if (labels.length < 2) return false;
  return labels.every((label) => DOMAIN_LABEL.test(label) || INTERNATIONAL_LABEL.test(label));
}

/** The form an address is matched by: trimmed and lower-cased. */
export function normaliseAddress(raw: string): string {
  return raw.trim().toLowerCase();
}

/** The domain part of an address, lower-cased (for verified From domains). */
export function domainOf(address: string): string {
  return address
    .slice(address.lastIndexOf("@") + 1)
    .trim()
    .toLowerCase();
}
