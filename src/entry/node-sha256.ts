import { createHash, createHmac } from "node:crypto";
import type { Sha256Hex } from "../domain/proof/chain.js";
import type { HmacSha256 } from "../domain/signed-token.js";

/**
 * Node's native SHA-256, for the core's synchronous hashing (installed with
 * `useSha256` by the Node entry point): the same function as the portable
 * one, about three times faster on the kilobyte of a justification.
 */
export const nodeSha256Hex: Sha256Hex = (text) =>
  createHash("sha256").update(text, "utf8").digest("hex");

/**
 * Node's native HMAC-SHA-256, for signing the links of a send (installed with
 * `useHmacSha256` by the Node entry point): the same function as the portable one.
 */
export const nodeHmacSha256: HmacSha256 = (key, message) =>
  createHmac("sha256", key).update(message).digest();
