/**
 * Lets other work run — requests waiting for an answer, an unsubscribe click —
 * before a long job goes on. The embedded libSQL driver answers synchronously,
 * so a loop of awaited queries runs on promise continuations alone and would
 * hold the event loop until it ends; a timer is a turn of the event loop on
 * every runtime (Node, workerd). The turn also lets the embedded driver free
 * the statements and row cursors it finalizes only then (db/node.ts).
 */
export function yieldToOtherWork(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
