/**
 * A counting semaphore with FIFO fairness, used for backpressure.
 *
 * `impl/shared/` holds what both layers use: the core and helpers (`src/`:
 * request turns, readers, wrappers) and the backends (`impl/`: calls on Deno's
 * thread pool). It sits below both, so that no backend imports the core, and
 * imports nothing of theirs.
 *
 * @module
 */

import { waitInLine } from "./abort.ts";

/** Lets at most `limit` tasks run at once; the others wait their turn in order. */
export class Semaphore {
  readonly limit: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  /** @param limit How many tasks may run at once. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** True while a task runs or waits. */
  get busy(): boolean {
    return this.#active > 0;
  }

  /**
   * Runs `task` when a turn is free. A `signal` that aborts while `task` waits
   * for its turn takes it out of the line: the promise rejects with the
   * signal's reason and `task` never runs (once started, `task` alone decides).
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.limit) {
      this.#active++;
      return this.#start(task);
    }
    return waitInLine(this.#queue, signal).then(() => this.#start(task));
  }

  /** How many tasks wait for a turn. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Takes a turn now if one is free (then the caller must {@linkcode give} it
   * back); false when the caller should {@linkcode run} and wait its turn.
   */
  tryTake(): boolean {
    if (this.#active < this.limit && this.#queue.length === 0) {
      this.#active++;
      return true;
    }
    return false;
  }

  /** Gives back a turn taken by {@linkcode tryTake}. */
  give(): void {
    this.#release();
  }

  /** Starts `task` in a turn already taken; gives the turn back when it settles. */
  #start<T>(task: () => Promise<T>): Promise<T> {
    let running: Promise<T>;
    try {
      running = task();
    } catch (error) {
      this.#release();
      return Promise.reject(error);
    }
    running.then(this.#release, this.#release);
    return running;
  }

  readonly #release = (): void => {
    const next = this.#queue.shift();
    if (next !== undefined) next(); // the turn passes on; #active stays
    else this.#active--;
  };
}
