/**
 * A kernel queue's wake loop: while requests remain in the kernel, one
 * `CompletionWake` is armed on its eventfd (impl/ring/wake.ts); when it fires,
 * the queue reaps `wakeReapFirst` completions, lets their callers' next
 * requests reach the kernel (a macrotask), then reaps the rest and arms again
 * if requests remain. An idle queue has nothing armed, so the process exits.
 *
 * @module
 */

import type { QueueTuning } from "../tuning.ts";
import type { Pacing } from "./pacing.ts";
import type { CompletionWake } from "./wake.ts";

/** What the wake loop needs of its queue. */
export interface WokenQueue {
  /** Requests in the kernel now. */
  inKernel(): number;
  /** Whether the queue has stopped (no view of it may be touched). */
  closed(): boolean;
  /** Reaps at most `limit` completions; true when more may be ready. */
  reapReady(limit: number): boolean;
  /** Reaps every completion ready. */
  reapAll(): void;
}

/** The wake loop of one kernel queue. */
export class WakeLoop {
  readonly #wake: CompletionWake;
  readonly #tuning: QueueTuning;
  readonly #pacing: Pacing;
  readonly #queue: WokenQueue;
  /** The armed wake's promise, while armed. */
  #waiter: Promise<void> | undefined;

  /**
   * @param wake The wake on the queue's eventfd.
   * @param tuning The queue's tuning (`wakeReapFirst`).
   * @param pacing The queue's pacing (a wake is a macrotask).
   * @param queue The queue it reaps.
   */
  constructor(
    wake: CompletionWake,
    tuning: QueueTuning,
    pacing: Pacing,
    queue: WokenQueue,
  ) {
    this.#wake = wake;
    this.#tuning = tuning;
    this.#pacing = pacing;
    this.#queue = queue;
  }

  /** The wake in use. */
  get wake(): CompletionWake {
    return this.#wake;
  }

  /** Settles once the armed wake has been handled; undefined when none is armed. */
  get waiter(): Promise<void> | undefined {
    return this.#waiter;
  }

  /** Arms the wake if requests remain in the kernel and none is armed. */
  arm(): void {
    const queue = this.#queue;
    if (
      this.#waiter !== undefined || queue.inKernel() === 0 || queue.closed()
    ) {
      return;
    }
    this.#waiter = this.#wake.arm().then((): Promise<void> | undefined => {
      this.#pacing.turned();
      if (
        queue.closed() || queue.inKernel() === 0 ||
        !queue.reapReady(this.#tuning.wakeReapFirst)
      ) {
        return undefined;
      }
      // More are ready: their callers' requests go in first.
      return new Promise<void>((resolve) =>
        this.#pacing.afterMacrotask(resolve)
      );
    }).then(() => {
      this.#waiter = undefined;
      if (queue.closed()) return;
      queue.reapAll();
      this.arm();
    });
  }
}
