/**
 * Work that goes on after an answer was sent (an import's processing), on a
 * runtime whose process outlives the request (Node). It is tracked, so a
 * shutdown or a test can wait for it to settle.
 */
export function backgroundTasks() {
  const running = new Set<Promise<unknown>>();
  return {
    run(task: Promise<unknown>): void {
      const tracked: Promise<unknown> = task
        .catch((error: unknown) => {
          console.error(
            `[grounds] background task: ${error instanceof Error ? error.name : "error"}`,
          );
        })
        .finally(() => running.delete(tracked));
      running.add(tracked);
    },
    /** Resolves once every task started so far (and any they started) has settled. */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
