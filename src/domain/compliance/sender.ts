/**
 * Who a message is from, and whether the gateway may send it so.
 */

import { ProblemError, type ProblemField } from "../../problems.js";
import { domainOf, isValidAddress } from "../address.js";

/** The tenant as the law asks a commercial message to name it (docs/design.md §2, §4). */
export interface SenderIdentity {
  legalName: string;
  /** Postal address; may span lines. */
  address: string;
  registrationId: string;
  /** Where recipients may write to object; may be empty. */
  contactEmail: string;
}

/**
 * A commercial message must name the sender on whose behalf it is sent, with
 * a postal address: Act 480/2004 Coll. §7(4)(b), CAN-SPAM 15 U.S.C.
 * 7704(a)(5)(A)(iii), CASL s. 6(2)(a). Service messages name it too. Without
 * these no message can be made compliant, so none is sent.
 */
export function assertSenderIdentity(identity: SenderIdentity): void {
  const errors: ProblemField[] = [];
  if (identity.legalName.trim() === "") {
    errors.push({ pointer: "/legalName", detail: "the tenant's legal name is empty" });
  }
  if (identity.address.trim() === "") {
    errors.push({ pointer: "/address", detail: "the tenant's postal address is empty" });
  }
  if (identity.registrationId.trim() === "") {
    errors.push({ pointer: "/registrationId", detail: "the tenant's registration id is empty" });
  }
  if (errors.length > 0) {
    throw new ProblemError("sender-identity-missing", {
      detail: "Set the tenant's legal name, postal address and registration id before sending.",
      errors,
    });
  }
}

/**
 * A domain as compared: trimmed, lower-cased, without a trailing dot, and an
 * internationalised name in its ASCII (punycode) form, so `bücher.example`
 * and `xn--bcher-kva.example` are the same domain. Null when it is not one.
 */
export function canonicalDomain(raw: string): string | null {
  const domain = raw.trim().toLowerCase().replace(/\.$/, "");
  if (domain === "" || /[\s/?#@:[\]\\]/.test(domain)) return null;
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return null;
  }
}

/**
 * The From domain must be one of the tenant's verified domains (docs/design.md §4: no
 * impersonation; DMARC alignment is what mailbox providers check). Exact
 * match: a subdomain is a different domain unless it is listed itself.
 */
export function assertVerifiedSenderDomain(fromEmail: string, domains: readonly string[]): void {
  if (!isValidAddress(fromEmail)) {
    throw new ProblemError("invalid-request", {
      detail: "The From address is not a valid e-mail address.",
      errors: [{ pointer: "/from/email", detail: "not a valid e-mail address" }],
    });
  }
  const from = canonicalDomain(domainOf(fromEmail));
  const verified = new Set(domains.map(canonicalDomain).filter((d) => d !== null));
  if (from === null || !verified.has(from)) {
    throw new ProblemError("unverified-sender-domain", {
      detail: "Send from an address at one of the tenant's verified domains.",
      errors: [{ pointer: "/from/email", detail: "the domain is not verified for this tenant" }],
    });
  }
}
