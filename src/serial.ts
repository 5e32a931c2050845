/**
 * Runs asynchronous tasks one after another, in the order they were given.
 *
 * @module
 */

/**
 * A queue of tasks run one at a time: each starts when the previous one has
 * settled, whether it resolved or rejected. A task given while the queue is
 * idle starts at once, synchronously.
 */
export class Serial {
  #tail: Promise<unknown> | undefined;
  #pending = 0;

  /** True while a task runs or waits. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /** Runs `task` after every task given before it; resolves to its result. */
  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.#pending++;
    const start = this.#tail === undefined
      ? call(task)
      : this.#tail.then(() => call(task));
    const done = start.finally(() => {
      if (--this.#pending === 0) this.#tail = undefined;
    });
    this.#tail = done.catch(() => {});
    return done;
  }
}

function call<T>(task: () => Promise<T> | T): Promise<T> {
  try {
    return Promise.resolve(task());
  } catch (error) {
    return Promise.reject(error);
  }
}
