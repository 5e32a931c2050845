/**
 * `Macrotasks.after(callback)`: runs `callback` once the event loop has had a
 * turn (timers and I/O callbacks first), as Node's `setImmediate` does.
 *
 * `setImmediate` itself comes from `node:timers`, and any `node:` module starts
 * Deno's Node compatibility layer, once per process, at a cost of milliseconds
 * (docs/performance.md, "Loading `node:` modules"). A process that yields only
 * now and then (a script reading a few files) is better served by a round trip
 * through Deno's thread pool (a nonblocking FFI call that does nothing); one
 * that keeps yielding loads `node:timers`
 * in the background after {@linkcode HOPS_BEFORE_IMMEDIATE} such trips.
 *
 * @module
 */

import { trackForeignCall } from "../pending.ts";

/** How many pool round trips serve before `node:timers` is loaded. */
const HOPS_BEFORE_IMMEDIATE = 64;

let immediate: ((callback: () => void) => unknown) | undefined;
let loading = false;
let hops = 0;

/** Turns of the event loop, for one kernel queue. */
export class Macrotasks {
  readonly #hop: () => Promise<unknown>;

  /** @param hop A nonblocking FFI call that does nothing (it runs on Deno's pool). */
  constructor(hop: () => Promise<unknown>) {
    this.#hop = hop;
  }

  /** Runs `callback` after a turn of the event loop. */
  after(callback: () => void): void {
    if (immediate !== undefined) {
      immediate(callback);
      return;
    }
    if (++hops > HOPS_BEFORE_IMMEDIATE && !loading) {
      loading = true;
      import("node:timers").then(
        (timers) => immediate = timers.setImmediate,
        () => {}, // the round trips go on
      );
    }
    trackForeignCall(this.#hop).then(callback, callback);
  }
}
