/**
 * Keeps completions that resolve in microtasks from starving the event loop.
 *
 * Requests reaped right after they are submitted resolve their promises in
 * microtasks, and their callers' next requests are submitted in microtasks
 * too: a loop of cached reads never lets timers or I/O callbacks run. Once
 * such a streak has gone on for its budget, the next step waits for a
 * macrotask. A streak ends when the event loop turns, which a zero-delay
 * timer (unreferenced, so it keeps no process alive) notices: after an idle
 * spell, work starts without a forced wait.
 *
 * @module
 */

/** The microtask budget of one kernel queue. */
export class MicrotaskBudget {
  readonly #budgetMs: number;
  /** When the current streak began; undefined once the event loop turned. */
  #since: number | undefined;
  readonly #turned = (): void => {
    this.#since = undefined;
  };

  /** @param budgetMs How long a streak of microtasks may run. */
  constructor(budgetMs: number) {
    this.#budgetMs = budgetMs;
  }

  /** Whether work may go on in microtasks now (a streak starts if none runs). */
  mayContinue(): boolean {
    const now = performance.now();
    if (this.#since === undefined) {
      this.#since = now;
      Deno.unrefTimer(setTimeout(this.#turned, 0));
      return true;
    }
    return now - this.#since < this.#budgetMs;
  }

  /** A macrotask has run (a wake, a step that waited for one): a new streak. */
  turned(): void {
    this.#since = undefined;
  }
}
