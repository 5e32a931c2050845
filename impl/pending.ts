/**
 * Counts the nonblocking FFI calls that are running on Deno's thread pool, so that
 * tests can check that none is left behind (a parked call keeps the process alive
 * and cannot be cancelled).
 *
 * @module
 */

let pending = 0;

/** Runs a nonblocking foreign call, counting it while it is on the pool. */
export async function trackForeignCall<T>(call: () => Promise<T>): Promise<T> {
  pending++;
  try {
    return await call();
  } finally {
    pending--;
  }
}

/** How many nonblocking foreign calls are in flight right now. */
export function pendingForeignCalls(): number {
  return pending;
}
