/**
 * The API reference page (`/docs`) runs Scalar's browser bundle, which its
 * Hono middleware would load from a CDN — blank offline, and a third party
 * on every visit. It is copied from node_modules into public/ at build time
 * and served from the gateway's own origin: by the Node entry point, and by
 * Workers as a static asset (wrangler.toml `[assets]`).
 */
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// A direct dependency, so npm installs it at the top of node_modules (its
// package exports do not expose the browser bundle to a resolver).
const source = join(root, "node_modules/@scalar/api-reference/dist/browser/standalone.js");
const target = join(root, "public/docs/scalar.js");
const fresh = (() => {
  try {
    return statSync(target).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    return false;
  }
})();
if (!fresh) {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
  console.log(`copy-api-reference: ${source} → public/docs/scalar.js`);
}
