import { createHash, createPublicKey, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkpointText, parseCheckpoint } from "../../src/domain/proof/checkpoint.js";
import {
  keyIdOf,
  noteSignerFromSeed,
  openNote,
  parseVerifierKey,
  signNote,
  verifierKey,
} from "../../src/domain/proof/signed-note.js";

const seed = new Uint8Array(32).map((_, i) => i + 1);
const name = "example.org/grounds";

describe("signed notes (C2SP signed-note, Ed25519)", () => {
  it("computes the key id as the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)", async () => {
    const signer = await noteSignerFromSeed(name, seed);
    const expected = createHash("sha256")
      .update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.of(1), signer.publicKey]))
      .digest()
      .subarray(0, 4);
    expect(Buffer.from(signer.keyId).toString("hex")).toBe(expected.toString("hex"));
    expect(keyIdOf(name, signer.publicKey)).toEqual(signer.keyId);
  });

  it("writes the verifier key as name+hex id+base64(0x01 ‖ key) and parses it back", async () => {
    const signer = await noteSignerFromSeed(name, seed);
    const vkey = verifierKey(signer);
    // The base64 key may itself hold a "+": the name and id are the first two fields.
    const [n, id, ...rest] = vkey.split("+");
    const key = rest.join("+");
    expect(n).toBe(name);
    expect(id).toBe(Buffer.from(signer.keyId).toString("hex"));
    expect(Buffer.from(key ?? "", "base64")).toEqual(
      Buffer.concat([Buffer.of(1), signer.publicKey]),
    );
    expect(parseVerifierKey(vkey)).toEqual({
      name,
      keyId: signer.keyId,
      publicKey: signer.publicKey,
    });
    // A key id that does not match the name and key is refused.
    expect(parseVerifierKey(`${name}+00000000+${key}`)).toBeNull();
    expect(parseVerifierKey(`other.example/grounds+${id}+${key}`)).toBeNull();
    expect(parseVerifierKey("garbage")).toBeNull();
  });

  it("signs a note that Node's own Ed25519 verifies, and opens it again", async () => {
    const signer = await noteSignerFromSeed(name, seed);
    const text = checkpointText({ origin: "example.org/grounds/t1", size: 3, root: seed });
    const note = await signNote(text, signer);
    expect(note.startsWith(`${text}\n— ${name} `)).toBe(true);
    const line = note.slice(text.length + 1, -1);
    const payload = Buffer.from(line.split(" ")[2] ?? "", "base64");
    expect(payload.subarray(0, 4)).toEqual(Buffer.from(signer.keyId));
    // The signature is plain Ed25519 over the text's bytes, independently checked.
    const publicKey = createPublicKey({
      key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), signer.publicKey]),
      format: "der",
      type: "spki",
    });
    expect(verify(null, Buffer.from(text), publicKey, payload.subarray(4))).toBe(true);

    const verifier = parseVerifierKey(verifierKey(signer));
    if (!verifier) throw new Error("unparsable verifier key");
    expect(await openNote(note, verifier)).toBe(text);
    expect(parseCheckpoint(text)).toEqual({
      origin: "example.org/grounds/t1",
      size: 3,
      root: seed,
    });
  });

  it("refuses a changed text, a forged signature and another key", async () => {
    const signer = await noteSignerFromSeed(name, seed);
    const verifier = parseVerifierKey(verifierKey(signer));
    if (!verifier) throw new Error("unparsable verifier key");
    const note = await signNote("example.org/grounds/t1\n3\nAAAA\n", signer);
    expect(await openNote(note.replace("\n3\n", "\n4\n"), verifier)).toBeNull();
    const forged = note.replace(/ (\S+)\n$/, (_, b64: string) => {
      const bytes = Buffer.from(b64, "base64");
      bytes[10] = (bytes[10] ?? 0) ^ 1;
      return ` ${bytes.toString("base64")}\n`;
    });
    expect(await openNote(forged, verifier)).toBeNull();
    const other = await noteSignerFromSeed(name, new Uint8Array(32));
    const otherVerifier = parseVerifierKey(verifierKey(other));
    if (!otherVerifier) throw new Error("unparsable verifier key");
    expect(await openNote(note, otherVerifier)).toBeNull();
    expect(await openNote("no signature\n", verifier)).toBeNull();
  });

  it("parses only well-formed checkpoints", () => {
    expect(parseCheckpoint("o\n01\nAAAA\n")).toBeNull();
    expect(parseCheckpoint("o\n1\nAAAA\n")).toBeNull(); // not 32 bytes
    expect(parseCheckpoint(`o\n1\n${Buffer.alloc(32).toString("base64")}`)).toBeNull();
    expect(parseCheckpoint(`o\n1\n${Buffer.alloc(32).toString("base64")}\next\n`)?.size).toBe(1);
  });
});
