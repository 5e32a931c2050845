/**
 * When a kernel queue submits what it has queued: at the end of the tick (one
 * submission for all the requests made in it), early for `O_DIRECT` requests
 * (every `directSubmitEvery`), and after a macrotask once completions have
 * resolved in microtasks only for `yieldEveryMs`, so that the event loop keeps
 * turning (impl/ring/microtask_budget.ts).
 *
 * @module
 */

import type { QueueTuning } from "../tuning.ts";
import type { Macrotasks } from "./macrotask.ts";
import { MicrotaskBudget } from "./microtask_budget.ts";

/** The pacing of one kernel queue's submissions. */
export class Pacing {
  readonly #tuning: QueueTuning;
  readonly #macrotasks: Macrotasks;
  readonly #budget: MicrotaskBudget;
  readonly #flush: () => void;
  #flushPending = false;
  /** How many of the queued requests are `O_DIRECT` ones. */
  #queuedDirect = 0;

  /**
   * @param tuning The queue's tuning.
   * @param macrotasks Turns of the event loop.
   * @param flush Submits what is queued (and reaps).
   */
  constructor(
    tuning: QueueTuning,
    macrotasks: Macrotasks,
    flush: () => void,
  ) {
    this.#tuning = tuning;
    this.#macrotasks = macrotasks;
    this.#budget = new MicrotaskBudget(tuning.yieldEveryMs);
    this.#flush = flush;
  }

  /** A request was queued: submits now, or schedules the submission. */
  queued(direct: boolean): void {
    if (
      direct && ++this.#queuedDirect >= this.#tuning.directSubmitEvery &&
      this.#budget.mayContinue()
    ) {
      this.#flush();
      return;
    }
    if (this.#flushPending) return;
    this.#flushPending = true;
    if (this.#budget.mayContinue()) queueMicrotask(this.#flushNow);
    else this.#macrotasks.after(this.#flushAfterMacrotask);
  }

  /** The queue was submitted: the count of queued `O_DIRECT` requests starts over. */
  flushed(): void {
    this.#queuedDirect = 0;
  }

  /**
   * Delivers `result`, work done on this thread (an inline write), as the queue
   * delivers completions: at once, or after a macrotask once completions have
   * resolved in microtasks only for their budget.
   */
  settle<T>(result: T): Promise<T> {
    if (this.#budget.mayContinue()) return Promise.resolve(result);
    return new Promise((resolve) =>
      this.#macrotasks.after(() => {
        this.#budget.turned();
        resolve(result);
      })
    );
  }

  /** A macrotask has run (a wake): completions start a new streak. */
  turned(): void {
    this.#budget.turned();
  }

  /** Runs `callback` after a turn of the event loop. */
  afterMacrotask(callback: () => void): void {
    this.#macrotasks.after(callback);
  }

  readonly #flushNow = (): void => {
    this.#flushPending = false;
    this.#flush();
  };

  readonly #flushAfterMacrotask = (): void => {
    this.#flushPending = false;
    this.#budget.turned();
    this.#flush();
  };
}
