/**
 * `npm run bench`: runs every bench file in this folder, one after the other
 * (each does its work when imported, and can be run alone with `npx tsx`).
 */
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".ts") && name !== "run.ts")
  .sort();

for (const file of files) {
  console.log(`\n## ${file}`);
  await import(pathToFileURL(`${dir}${file}`).href);
}
