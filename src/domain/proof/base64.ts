/**
 * Standard base64 with padding (RFC 4648 §4), as the C2SP note formats and
 * the receipts write it. Strict on input: anything but canonical padded
 * base64 is refused, so one value has one spelling.
 */

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes base64; throws (or answers `invalid` when given) on malformed input. */
export function fromBase64(text: string): Uint8Array;
export function fromBase64<T>(text: string, invalid: T): Uint8Array | T;
export function fromBase64<T>(text: string, ...invalid: [T?]): Uint8Array | T {
  if (CANONICAL.test(text)) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    // Non-zero padding bits would give a second spelling of the same bytes.
    if (toBase64(bytes) === text) return bytes;
  }
  if (invalid.length > 0) return invalid[0] as T;
  throw new Error("not canonical base64");
}
