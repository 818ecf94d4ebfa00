import { createHash } from "node:crypto";
import type { Sha256Hex } from "../domain/proof/chain.js";

/**
 * Node's native SHA-256, for the core's synchronous hashing (installed with
 * `useSha256` by the Node entry point): the same function as the portable
 * one, about three times faster on the kilobyte of a justification.
 */
export const nodeSha256Hex: Sha256Hex = (text) =>
  createHash("sha256").update(text, "utf8").digest("hex");
