#!/usr/bin/env node
// `npx grounds …`: the CLI as compiled JavaScript (build/cli/grounds.js,
// built by `npm install`/`npm run build:assets`), which starts in well under
// a second. A checkout whose build is missing still works, through tsx.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new URL("../build/cli/grounds.js", import.meta.url);
if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
  await import("../src/cli/main.ts");
}
