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
 * Deno loads its timers on their first use (its Node compatibility layer's,
 * milliseconds of start-up), so the first {@linkcode TIMER_AFTER_STREAKS}
 * streaks of a budget set no timer: a short script never loads them. Until
 * then a streak ends only at the queue's own turns (a wake, a step that
 * waited for a macrotask), which at worst makes one step wait for a turn.
 *
 * @module
 */

/** Streaks of a budget before its streaks watch the event loop with a timer. */
export const TIMER_AFTER_STREAKS = 32;

/** The microtask budget of one kernel queue. */
export class MicrotaskBudget {
  readonly #budgetMs: number;
  /** Streaks left before they set a timer. */
  #untimed: number;
  /** When the current streak began; undefined once the event loop turned. */
  #since: number | undefined;
  readonly #turned = (): void => {
    this.#since = undefined;
  };

  /**
   * @param budgetMs How long a streak of microtasks may run.
   * @param untimedStreaks How many streaks begin without a timer.
   */
  constructor(budgetMs: number, untimedStreaks = TIMER_AFTER_STREAKS) {
    this.#budgetMs = budgetMs;
    this.#untimed = untimedStreaks;
  }

  /** Whether work may go on in microtasks now (a streak starts if none runs). */
  mayContinue(): boolean {
    const now = performance.now();
    if (this.#since === undefined) {
      this.#since = now;
      if (this.#untimed > 0) this.#untimed--;
      else Deno.unrefTimer(setTimeout(this.#turned, 0));
      return true;
    }
    return now - this.#since < this.#budgetMs;
  }

  /** A macrotask has run (a wake, a step that waited for one): a new streak. */
  turned(): void {
    this.#since = undefined;
  }
}
