import { generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openSecret, sealSecret } from "../../src/domain/secret-box.js";
import {
  decodeBase64,
  derToP1363,
  importPublicKey,
  normalisePublicKey,
  verifySendGridSignature,
} from "../../src/domain/sendgrid-signature.js";
import { p1363ToDer, webhookKeys } from "./helpers.js";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("SendGrid's signature", () => {
  it("verifies SendGrid's own test vector (sendgrid-nodejs eventwebhook.spec.js)", async () => {
    // The known answer from SendGrid's library: key, signature, timestamp and payload.
    const key = await importPublicKey(
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
    );
    const signature =
      "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    const payload = bytes(
      JSON.stringify({
        category: "example_payload",
        event: "test_event",
        message_id: "message_id",
      }),
    );
    expect(key).not.toBeNull();
    if (!key) return;
    expect(await verifySendGridSignature(key, signature, "1588788367", payload)).toBe(true);
    expect(await verifySendGridSignature(key, signature, "1588788368", payload)).toBe(false);
    expect(await verifySendGridSignature(key, signature, "1588788367", bytes("payload"))).toBe(
      false,
    );
    // The library's "bad signature": one base64 character changed.
    const bad =
      "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
    expect(await verifySendGridSignature(key, bad, "1588788367", payload)).toBe(false);
    // The library's "invalid key": another P-256 key.
    const other = await importPublicKey(
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==",
    );
    expect(other && (await verifySendGridSignature(other, signature, "1588788367", payload))).toBe(
      false,
    );
  });

  it("verifies DER signatures made by OpenSSL, short and long integers alike", async () => {
    // Node's crypto.sign gives DER (what SendGrid sends). About one signature
    // in 128 has an r or s shorter than 32 bytes, and half have a 33-byte one
    // with a leading zero: sign until both kinds have been seen.
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = publicKey.export({ type: "spki", format: "der" }).toString("base64");
    const key = await importPublicKey(spki);
    if (!key) throw new Error("key did not import");
    let short = 0;
    let padded = 0;
    for (let i = 0; i < 3000 && (short < 2 || padded < 2); i++) {
      const body = bytes(`[{"event":"open","n":${i}}]`);
      const timestamp = String(1_700_000_000 + i);
      const der = nodeSign("sha256", Buffer.concat([bytes(timestamp), body]), privateKey);
      const rLength = der[3] as number;
      const sLength = der[5 + rLength] as number;
      if (rLength < 32 || sLength < 32) short += 1;
      if (rLength === 33 || sLength === 33) padded += 1;
      const ok = await verifySendGridSignature(key, der.toString("base64"), timestamp, body);
      if (!ok) throw new Error(`signature ${i} (r ${rLength}, s ${sLength} bytes) did not verify`);
    }
    expect(short).toBeGreaterThanOrEqual(2);
    expect(padded).toBeGreaterThanOrEqual(2);
  });

  it("converts DER to r ‖ s with padding, and refuses malformed DER", () => {
    const r = new Uint8Array(32).fill(0x11);
    r[0] = 0x00;
    r[1] = 0x00; // r is 30 bytes long
    const s = new Uint8Array(32).fill(0xf0); // high bit: 33 bytes in DER
    const raw = new Uint8Array([...r, ...s]);
    const der = p1363ToDer(raw);
    expect(der[3]).toBe(30);
    expect(derToP1363(der)).toEqual(raw);
    expect(derToP1363(new Uint8Array([0x30, 0x00]))).toBeNull();
    expect(derToP1363(der.subarray(0, der.length - 1))).toBeNull();
    expect(derToP1363(new Uint8Array([...der, 0x00]))).toBeNull();
    // A 33-byte integer that is not a sign-padded 32-byte one.
    const tooLong = new Uint8Array([
      0x30,
      0x26,
      0x02,
      0x21,
      0x01,
      ...new Uint8Array(32),
      0x02,
      0x01,
      0x01,
    ]);
    expect(derToP1363(tooLong)).toBeNull();
    // A negative integer.
    expect(derToP1363(new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]))).toBeNull();
    // Not a SEQUENCE.
    expect(derToP1363(new Uint8Array([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))).toBeNull();
  });

  it("refuses a changed byte, another key and garbage", async () => {
    const keys = await webhookKeys();
    const other = await webhookKeys();
    const key = await importPublicKey(keys.publicKey);
    if (!key) throw new Error("key did not import");
    const body = '[{"event":"open"}]';
    const signature = await keys.sign("1700000000", body);
    expect(await verifySendGridSignature(key, signature, "1700000000", bytes(body))).toBe(true);
    expect(
      await verifySendGridSignature(key, signature, "1700000000", bytes('[{"event":"opeN"}]')),
    ).toBe(false);
    expect(
      await verifySendGridSignature(
        key,
        await other.sign("1700000000", body),
        "1700000000",
        bytes(body),
      ),
    ).toBe(false);
    expect(await verifySendGridSignature(key, "not base64!", "1700000000", bytes(body))).toBe(
      false,
    );
    expect(await verifySendGridSignature(key, "", "1700000000", bytes(body))).toBe(false);
  });

  it("accepts the key as base64 DER or as PEM, and refuses what is no P-256 key", async () => {
    const keys = await webhookKeys();
    const pem = `-----BEGIN PUBLIC KEY-----\n${keys.publicKey.match(/.{1,64}/g)?.join("\n")}\n-----END PUBLIC KEY-----\n`;
    expect(normalisePublicKey(pem)).toBe(keys.publicKey);
    expect(await importPublicKey(pem)).not.toBeNull();
    expect(await importPublicKey("bm90IGEga2V5")).toBeNull();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    expect(
      await importPublicKey(rsa.export({ type: "spki", format: "der" }).toString("base64")),
    ).toBeNull();
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey;
    expect(
      await importPublicKey(p384.export({ type: "spki", format: "der" }).toString("base64")),
    ).toBeNull();
    expect(decodeBase64("abc")).toBeNull();
  });
});

describe("secrets at rest", () => {
  const key = new Uint8Array(32).fill(7);

  it("seals with AES-GCM and opens only under the same key and context", async () => {
    const sealed = await sealSecret(key, "SG.secret-api-key", "tenant:a:sendgrid-api-key");
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(sealed).not.toContain("SG.secret");
    expect(await openSecret(key, sealed, "tenant:a:sendgrid-api-key")).toBe("SG.secret-api-key");
    await expect(openSecret(key, sealed, "tenant:b:sendgrid-api-key")).rejects.toThrow();
    await expect(
      openSecret(new Uint8Array(32).fill(8), sealed, "tenant:a:sendgrid-api-key"),
    ).rejects.toThrow();
    // Change the next-to-last character (the last may carry only padding bits)
    // to one it is not: chosen by that character, so it always changes.
    const at = sealed.length - 2;
    const flipped = `${sealed.slice(0, at)}${sealed[at] === "A" ? "B" : "A"}${sealed.slice(at + 1)}`;
    await expect(openSecret(key, flipped, "tenant:a:sendgrid-api-key")).rejects.toThrow();
    // A fresh IV each time.
    expect(await sealSecret(key, "SG.secret-api-key", "c")).not.toBe(
      await sealSecret(key, "SG.secret-api-key", "c"),
    );
  });
});
