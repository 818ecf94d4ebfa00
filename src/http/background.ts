import type { Context } from "hono";
import type { Deps } from "../services/deps.js";
import type { AppEnv } from "./env.js";

/**
 * Runs a task after the answer: through the gateway's runner on Node, or
 * the Worker's `waitUntil`. A failure is logged by name only (`label` says
 * whose): its message could carry a value from the request.
 */
export function inBackground(
  c: Context<AppEnv>,
  deps: Deps,
  task: Promise<unknown>,
  label: string,
): void {
  const guarded = task.catch((error: unknown) => {
    console.error(`[grounds] ${label}: ${error instanceof Error ? error.name : "error"}`);
  });
  if (deps.runInBackground) {
    deps.runInBackground(guarded);
    return;
  }
  try {
    c.executionCtx.waitUntil(guarded);
  } catch {
    // No execution context (a plain fetch handler): the promise runs on by itself.
  }
}
