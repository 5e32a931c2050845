/**
 * The `uring` backend's wake, loaded when it is first needed: the relay
 * (`uring_relay.ts`) watches a pipe through `node:net`, and loading any `node:`
 * module starts Deno's Node compatibility layer, which costs a process
 * milliseconds (docs/performance.md, "Loading `node:` modules"). A process whose reads all complete inline (page-cache hits, reaped
 * right after they are submitted) never waits for a wake, and one that waits
 * a few times (a script reading a few files) is better served by the pool
 * than by loading the relay. So the pool's wake serves the first
 * {@linkcode POOL_WAKES_FIRST}; the next one starts loading the relay, which
 * serves the wakes after it once loaded.
 *
 * @module
 */

import type { Libc } from "../ffi/libc.ts";
import type { UringCalls } from "../ffi/uring.ts";
import { type CompletionWake, PoolWake, type WakeName } from "./ring/wake.ts";

/** How many wakes the pool serves before the relay is loaded. */
const POOL_WAKES_FIRST = 16;

/** The pool wake, until the relay has loaded; then the relay. */
export class RelayOnceLoaded implements CompletionWake {
  readonly #libc: Libc;
  readonly #calls: UringCalls;
  readonly #eventfd: number;
  readonly #refused: (reason: string) => void;
  /** The wake that serves arms now. */
  #wake: CompletionWake;
  /** The relay, loaded and made, waiting for the next arm to take over. */
  #relay: CompletionWake | undefined;
  #loading: Promise<void> | undefined;
  #closed = false;
  /** Wakes served by the pool so far. */
  #poolWakes = 0;

  /**
   * @param libc The loaded C library.
   * @param calls The io_uring calls.
   * @param eventfd The eventfd the kernel signals.
   * @param refused Told why, when the relay cannot be had (the pool wake
   * then serves for good).
   */
  constructor(
    libc: Libc,
    calls: UringCalls,
    eventfd: number,
    refused: (reason: string) => void,
  ) {
    this.#libc = libc;
    this.#calls = calls;
    this.#eventfd = eventfd;
    this.#refused = refused;
    this.#wake = new PoolWake(libc, eventfd);
  }

  get name(): WakeName {
    return this.#wake.name;
  }

  /**
   * Resolves once the relay has loaded (or could not be had); the arm after
   * that uses it. Starts loading it if no arm has yet.
   */
  relayLoaded(): Promise<void> {
    this.#loading ??= this.#load();
    return this.#loading;
  }

  arm(): Promise<unknown> {
    if (this.#relay !== undefined) {
      // Not armed now (one arm at a time): the relay takes over.
      this.#wake.close();
      this.#wake = this.#relay;
      this.#relay = undefined;
    } else if (++this.#poolWakes > POOL_WAKES_FIRST) {
      void this.relayLoaded();
    }
    return this.#wake.arm();
  }

  close(): void {
    this.#closed = true;
    this.#wake.close();
    this.#relay?.close();
    this.#relay = undefined;
  }

  async #load(): Promise<void> {
    let made: CompletionWake | string;
    try {
      const { RelayWake } = await import("./uring_relay.ts");
      if (this.#closed) return;
      made = RelayWake.create(this.#libc, this.#calls, this.#eventfd);
    } catch (error) {
      made = `the relay could not be loaded: ${(error as Error).message}`;
    }
    if (typeof made === "string") {
      this.#refused(made);
    } else if (this.#closed) {
      made.close();
    } else {
      this.#relay = made;
    }
  }
}
