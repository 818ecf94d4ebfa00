import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { CertificateSet, ContentInfo, SignedData } from "@peculiar/asn1-cms";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  MessageImprint,
  PKIStatus,
  TimeStampReq,
  TimeStampResp,
  TSTInfo,
} from "@peculiar/asn1-tsp";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { fromBase64 } from "./base64.js";
import { equalHashes } from "./merkle.js";

/**
 * RFC 3161 time-stamping of checkpoints (docs/design.md §6, "Anchoring"): the
 * request asks a time-stamping authority to sign SHA-256 of a checkpoint's
 * note text; the token it answers (a CMS SignedData over a TSTInfo) is kept
 * and carried in receipts. The ASN.1 is @peculiar/asn1-tsp's and
 * @peculiar/asn1-cms's (maintained, small, no hand-written DER).
 */

/** id-sha256 (RFC 5754 §2.2). */
const SHA256 = "2.16.840.1.101.3.4.2.1";
/** id-signedData (RFC 5652 §5.1), id-ct-TSTInfo (RFC 3161 §2.4.2), id-messageDigest (RFC 5652 §11.2). */
const SIGNED_DATA = "1.2.840.113549.1.7.2";
const TST_INFO = "1.2.840.113549.1.9.16.1.4";
const MESSAGE_DIGEST = "1.2.840.113549.1.9.4";

/** A TimeStampReq (RFC 3161 §2.4.1) for SHA-256 of `message`, asking for the TSA's certificate. */
export function timestampRequest(message: Uint8Array, nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  const request = new TimeStampReq({
    version: 1,
    messageImprint: new MessageImprint({
      hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA256 }),
      hashedMessage: new OctetString(sha256(message)),
    }),
    nonce: positiveInteger(nonce),
    certReq: true,
  });
  return new Uint8Array(AsnConvert.serialize(request));
}

/**
 * A nonce as a DER INTEGER's content: minimal and positive (X.690 §8.3.2),
 * so no leading 0x00 unless the first byte's top bit is set.
 */
function positiveInteger(bytes: Uint8Array): ArrayBuffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && ((bytes[start + 1] ?? 0) & 0x80) === 0) {
    start += 1;
  }
  const rest = bytes.subarray(start);
  const pad = ((rest[0] ?? 0) & 0x80) !== 0 ? 1 : 0;
  const out = new Uint8Array(rest.length + pad);
  out.set(rest, pad);
  return out.buffer;
}

export type TimestampResponse =
  | { ok: true; token: Uint8Array; genTime: Date }
  | { ok: false; problem: string };

/**
 * Reads a TimeStampResp (RFC 3161 §2.4.2): the token when the TSA granted
 * the request and the token is for this very request (imprint and nonce,
 * §2.4.2: "MUST have the same value").
 */
export function readTimestampResponse(
  der: Uint8Array,
  message: Uint8Array,
  nonce: Uint8Array,
): TimestampResponse {
  let response: TimeStampResp;
  try {
    response = AsnConvert.parse(der, TimeStampResp);
  } catch {
    return { ok: false, problem: "the answer is not a TimeStampResp" };
  }
  const status = response.status.status;
  if (status !== PKIStatus.granted && status !== PKIStatus.grantedWithMods) {
    return { ok: false, problem: `the authority refused (PKIStatus ${status})` };
  }
  if (!response.timeStampToken) return { ok: false, problem: "no token in the answer" };
  const token = new Uint8Array(AsnConvert.serialize(response.timeStampToken));
  const info = tokenInfo(token);
  if (!info) return { ok: false, problem: "the token holds no TSTInfo" };
  if (!imprintMatches(info, message))
    return { ok: false, problem: "the token is for another imprint" };
  const expected = bytesToHex(new Uint8Array(positiveInteger(nonce)));
  if (!info.nonce || stripZeros(bytesToHex(new Uint8Array(info.nonce))) !== stripZeros(expected)) {
    return { ok: false, problem: "the token is for another request (nonce)" };
  }
  return { ok: true, token, genTime: info.genTime };
}

function stripZeros(hex: string): string {
  return hex.replace(/^(?:00)+/, "");
}

/** The TSTInfo a token (a ContentInfo holding SignedData) signs, or null. */
export function tokenInfo(token: Uint8Array): TSTInfo | null {
  const signed = signedDataOf(token);
  const content = signed?.encapContentInfo.eContent?.single;
  if (!signed || signed.encapContentInfo.eContentType !== TST_INFO || !content) return null;
  try {
    return AsnConvert.parse(content.buffer, TSTInfo);
  } catch {
    return null;
  }
}

function signedDataOf(token: Uint8Array): SignedData | null {
  try {
    const info = AsnConvert.parse(token, ContentInfo);
    if (info.contentType !== SIGNED_DATA) return null;
    return AsnConvert.parse(info.content, SignedData);
  } catch {
    return null;
  }
}

function imprintMatches(info: TSTInfo, message: Uint8Array): boolean {
  const imprint = info.messageImprint;
  return (
    imprint.hashAlgorithm.algorithm === SHA256 &&
    equalHashes(new Uint8Array(imprint.hashedMessage.buffer), sha256(message))
  );
}

export type TokenCheck =
  | { ok: true; genTime: string }
  | { ok: false; problem: "malformed" | "imprint-mismatch" };

/**
 * Checks that a kept token (base64 DER) time-stamps `message`: it is a
 * SignedData over a TSTInfo whose imprint is SHA-256 of `message`. The
 * TSA's signature is checked by `verifyTokenSignature`.
 */
export function checkTimestampToken(tokenBase64: string, message: Uint8Array): TokenCheck {
  const token = fromBase64(tokenBase64, null);
  const info = token ? tokenInfo(token) : null;
  if (!info) return { ok: false, problem: "malformed" };
  if (!imprintMatches(info, message)) return { ok: false, problem: "imprint-mismatch" };
  return { ok: true, genTime: info.genTime.toISOString() };
}

/**
 * Verifies the TSA's CMS signature on a token (RFC 5652 §5.4): the signed
 * attributes' message digest is the digest of the TSTInfo, and the
 * signature over the DER of the signed attributes verifies with the public
 * key of the certificate the token carries (RSA PKCS #1 v1.5 or ECDSA with
 * SHA-256). Whether that certificate is one to trust is the relying party's
 * choice (e.g. `openssl ts -verify -CAfile`); answers its DER when valid.
 */
export async function verifyTokenSignature(token: Uint8Array): Promise<Uint8Array | null> {
  const signed = signedDataOf(token);
  const content = signed?.encapContentInfo.eContent?.single;
  const signer = signed?.signerInfos[0];
  if (!signed || !content || !signer?.signedAttrs) return null;
  if (signer.digestAlgorithm.algorithm !== SHA256) return null;
  const digest = signer.signedAttrs.find((a) => a.attrType === MESSAGE_DIGEST)?.attrValues[0];
  if (!digest) return null;
  const expected = AsnConvert.parse(digest, OctetString);
  if (!equalHashes(new Uint8Array(expected.buffer), sha256(new Uint8Array(content.buffer)))) {
    return null;
  }
  const certificate = (signed.certificates ?? new CertificateSet()).find(
    (c) => c.certificate,
  )?.certificate;
  if (!certificate) return null;
  const certificateDer = new Uint8Array(AsnConvert.serialize(certificate));
  const spki = new Uint8Array(
    AsnConvert.serialize(certificate.tbsCertificate.subjectPublicKeyInfo),
  );
  // The signature is over the DER of the attributes as a SET OF (tag 0x31),
  // not as the [0] IMPLICIT field they are stored in (RFC 5652 §5.4).
  const attributes = derSetOf(
    signer.signedAttrs.map((attribute) => new Uint8Array(AsnConvert.serialize(attribute))),
  );
  const keyAlgorithm = certificate.tbsCertificate.subjectPublicKeyInfo.algorithm.algorithm;
  const signature = new Uint8Array(signer.signature.buffer);
  try {
    if (keyAlgorithm === "1.2.840.113549.1.1.1") {
      const key = await crypto.subtle.importKey(
        "spki",
        spki,
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["verify"],
      );
      const ok = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature, attributes);
      return ok ? certificateDer : null;
    }
    if (keyAlgorithm === "1.2.840.10045.2.1") {
      const key = await crypto.subtle.importKey(
        "spki",
        spki,
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      const ok = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        derToRawEcdsa(signature),
        attributes,
      );
      return ok ? certificateDer : null;
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * The DER of a SET OF the given encodings: sorted (X.690 §11.6), behind the
 * tag 0x31 and the definite length (X.690 §8.1.3).
 */
function derSetOf(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const sorted = [...parts].sort(compareBytes);
  const length = sorted.reduce((sum, part) => sum + part.length, 0);
  const lengthBytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest % 256);
  const header = length < 0x80 ? [0x31, length] : [0x31, 0x80 | lengthBytes.length, ...lengthBytes];
  const out = new Uint8Array(header.length + length);
  out.set(header);
  let at = header.length;
  for (const part of sorted) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/** An ECDSA signature from DER (SEQUENCE of two INTEGERs) to WebCrypto's r ‖ s, P-256. */
function derToRawEcdsa(der: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(64);
  let at = 2;
  if (der[1] === 0x81) at = 3;
  for (let part = 0; part < 2; part++) {
    const length = der[at + 1] ?? 0;
    let value = der.subarray(at + 2, at + 2 + length);
    while (value.length > 32 && value[0] === 0) value = value.subarray(1);
    out.set(value, part * 32 + (32 - value.length));
    at += 2 + length;
  }
  return out;
}
