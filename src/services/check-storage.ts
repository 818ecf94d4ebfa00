import { type StorageFault, storageFaultOf } from "../db/errors.js";
import { instance } from "../db/schema.js";
import type { Deps } from "./deps.js";

/** The `instance` row the check writes: its value is the time of the last check. */
const PROBE_KEY = "storage-check";

/**
 * Whether the database takes a write now — what `/healthz` reports. A read
 * proves nothing (a read-only file, a full disk and another process's lock
 * all still read), so the check is a real write: one small row upserted,
 * in its own transaction.
 */
export async function checkStorage(
  deps: Deps,
): Promise<{ writable: true } | { writable: false; fault: StorageFault }> {
  const now = String(deps.clock());
  try {
    await deps.db
      .insert(instance)
      .values({ key: PROBE_KEY, value: now })
      .onConflictDoUpdate({ target: instance.key, set: { value: now } });
    return { writable: true };
  } catch (error) {
    const fault = storageFaultOf(error);
    if (!fault) throw error;
    return { writable: false, fault };
  }
}
