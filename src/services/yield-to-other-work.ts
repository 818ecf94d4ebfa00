/**
 * Lets other work run — requests waiting for an answer, an unsubscribe click —
 * before a long job goes on. The embedded libSQL driver answers synchronously,
 * so a loop of awaited queries runs on promise continuations alone and would
 * hold the event loop until it ends; a timer is a turn of the event loop on
 * every runtime (Node, workerd).
 */
export function yieldToOtherWork(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
