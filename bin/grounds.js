#!/usr/bin/env node
// `npx grounds …`: the TypeScript CLI, run through tsx (a runtime dependency).
// The tsconfig is named so that the CLI behaves the same from any directory.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
await import("../src/cli/main.ts");
