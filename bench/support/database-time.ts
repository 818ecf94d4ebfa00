import type { Client } from "@libsql/client";

/**
 * Adds up the time a libSQL client spends in `execute` and `batch`: binding,
 * the engine, the commit and building result rows — everything a bench's
 * raw insert pays too. On an embedded file both run synchronously inside
 * the call, so nothing else is counted while one runs.
 */
export function timeDatabase(client: Client): { take(): number } {
  let spent = 0;
  const timed =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const start = performance.now();
      try {
        return await call(...args);
      } finally {
        spent += performance.now() - start;
      }
    };
  client.execute = timed(client.execute.bind(client)) as Client["execute"];
  client.batch = timed(client.batch.bind(client)) as Client["batch"];
  return {
    /** Milliseconds spent since the last `take()`. */
    take() {
      const taken = spent;
      spent = 0;
      return taken;
    },
  };
}
