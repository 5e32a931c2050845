/**
 * How a kernel queue learns that completions wait to be reaped. The kernel
 * signals them on an eventfd; a {@linkcode CompletionWake} turns a signal into a
 * resolved promise on the JavaScript thread. The queue arms it only while
 * requests remain in the kernel, so an idle process has nothing that keeps it
 * alive.
 *
 * - {@linkcode PoolWake}: a nonblocking FFI `read()` of the eventfd, parked on
 *   Deno's thread pool. Works for both kernel queues.
 * - `RelayWake` (`uring_relay.ts`): a small io_uring of its own turns the signal
 *   into a byte on a pipe that Deno's event loop watches; no pool thread, and
 *   one thread wake fewer per completion.
 *
 * @module
 */

import { fixedMemory, type Libc } from "../../ffi/libc.ts";
import { trackForeignCall } from "../pending.ts";

/** Names the mechanism, for diagnostics and tests. */
export type WakeName = "pool" | "relay";

/** Turns eventfd signals into resolved promises on the JavaScript thread. */
export interface CompletionWake {
  readonly name: WakeName;
  /**
   * Resolves once the eventfd has been signalled (now or later): one call at a
   * time, and only while requests are in the kernel, since an armed wake keeps
   * the process alive. The queue wakes it itself (a write to the eventfd) before
   * closing.
   */
  arm(): Promise<unknown>;
  /** Releases what the wake holds; called once, when it is not armed. */
  close(): void;
}

/** A nonblocking `read()` of the eventfd on Deno's thread pool. */
export class PoolWake implements CompletionWake {
  readonly name = "pool" as const;
  readonly #libc: Libc;
  readonly #eventfd: number;
  /** The eventfd count, written by the pool thread. */
  readonly #counter = fixedMemory(BigUint64Array, 8);

  /**
   * @param libc The loaded C library.
   * @param eventfd The eventfd the kernel signals.
   */
  constructor(libc: Libc, eventfd: number) {
    this.#libc = libc;
    this.#eventfd = eventfd;
  }

  arm(): Promise<unknown> {
    const { read_on_pool } = this.#libc.symbols;
    return trackForeignCall(() =>
      read_on_pool(this.#eventfd, this.#counter, 8n)
    );
  }

  close(): void {}
}
