import { createHash, createPrivateKey, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/domain/proof/chain.js";
import { checkpointText } from "../../src/domain/proof/checkpoint.js";
import { inclusionProof, leafHash, rootOf } from "../../src/domain/proof/merkle.js";
import { type Receipt, verifyReceipt } from "../../src/domain/proof/receipt.js";
import {
  noteSignerFromSeed,
  parseVerifierKey,
  signNote,
} from "../../src/domain/proof/signed-note.js";

/**
 * The worked example of docs/proof-log.md ("A worked example") is real: each
 * value is recomputed here from the page, with Node's own SHA-256 and
 * Ed25519 (an implementation independent of the gateway's), and the
 * gateway's code produces the very same bytes.
 */

const page = readFileSync(new URL("../../docs/proof-log.md", import.meta.url), "utf8");

function block(name: string): string {
  const match = new RegExp(`\`\`\`\\w+ ${name}\\n([\\s\\S]*?)\`\`\`\\n`).exec(page);
  if (!match?.[1]) throw new Error(`no block ${name} in docs/proof-log.md`);
  return match[1];
}
const lines = (name: string) => block(name).trim().split("\n");
const sha = (...parts: (Buffer | string)[]) => {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return h.digest();
};

const entries = [0, 1, 2].map((i) => block(`example-entry-${i}`).replace(/\n$/, ""));
const seed = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

describe("the worked example of docs/proof-log.md", () => {
  it("gives each entry's canonical bytes and leaf hash", () => {
    for (const entry of entries) expect(canonicalJson(JSON.parse(entry))).toBe(entry);
    const leaves = entries.map((e) => sha(Buffer.of(0), e).toString("hex"));
    expect(leaves).toEqual(lines("example-leaves"));
    expect(entries.map((e) => Buffer.from(leafHash(Buffer.from(e))).toString("hex"))).toEqual(
      leaves,
    );
  });

  it("gives the root of the three", () => {
    const [l0, l1, l2] = lines("example-leaves").map((h) => Buffer.from(h, "hex"));
    const root = sha(Buffer.of(1), sha(Buffer.of(1), l0 as Buffer, l1 as Buffer), l2 as Buffer);
    expect(root.toString("hex")).toBe(lines("example-root")[0]);
    const mine = rootOf(entries.map((e) => leafHash(Buffer.from(e))));
    expect(Buffer.from(mine).toString("hex")).toBe(root.toString("hex"));
  });

  it("gives the verifier key and a checkpoint signed by it, as Node's Ed25519 checks", async () => {
    const privateKey = createPrivateKey({
      key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
      format: "der",
      type: "pkcs8",
    });
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    const publicKey = spki.subarray(spki.length - 32);
    const name = "grounds.example/grounds";
    const keyId = sha(name, Buffer.of(0x0a, 0x01), publicKey).subarray(0, 4);
    expect(lines("example-verifier-key")[0]).toBe(
      `${name}+${keyId.toString("hex")}+${Buffer.concat([Buffer.of(1), publicKey]).toString("base64")}`,
    );

    const note = block("example-checkpoint");
    const [text, signatures] = [
      note.slice(0, note.lastIndexOf("\n\n") + 1),
      note.slice(note.lastIndexOf("\n\n") + 2),
    ];
    const root = Buffer.from(lines("example-root")[0] ?? "", "hex");
    expect(text).toBe(`grounds.example/grounds/ten_01\n3\n${root.toString("base64")}\n`);
    const [dash, signer, b64] = signatures.trim().split(" ");
    expect([dash, signer]).toEqual(["—", name]);
    const payload = Buffer.from(b64 ?? "", "base64");
    expect(payload.subarray(0, 4)).toEqual(keyId);
    expect(verify(null, Buffer.from(text), createPublicKey(privateKey), payload.subarray(4))).toBe(
      true,
    );

    // The gateway's own signer writes the same note (Ed25519 is deterministic).
    const mine = await noteSignerFromSeed(name, seed);
    expect(
      await signNote(
        checkpointText({ origin: "grounds.example/grounds/ten_01", size: 3, root }),
        mine,
      ),
    ).toBe(note);
  });

  it("gives the inclusion proof of entry 1, and a receipt built from the page verifies", async () => {
    const leaves = entries.map((e) => leafHash(Buffer.from(e)));
    expect(inclusionProof(1, leaves).map((h) => Buffer.from(h).toString("hex"))).toEqual(
      lines("example-inclusion-1"),
    );
    const receipt: Receipt = {
      format: "grounds-receipt/1",
      entry: JSON.parse(entries[1] ?? ""),
      leafIndex: 1,
      treeSize: 3,
      inclusion: lines("example-inclusion-1").map((h) => Buffer.from(h, "hex").toString("base64")),
      checkpoint: block("example-checkpoint"),
    };
    const verifier = parseVerifierKey(lines("example-verifier-key")[0] ?? "");
    if (!verifier) throw new Error("the page's verifier key does not parse");
    expect(await verifyReceipt(receipt, verifier)).toMatchObject({ ok: true });
    expect((await verifyReceipt({ ...receipt, leafIndex: 0 }, verifier)).ok).toBe(false);
  });
});
