/**
 * Write-behind: writes that run on after their caller has moved on, with none
 * of their failures lost.
 *
 * @module
 */

/**
 * Tracks writes in flight, at most `limit` of them once {@linkcode add}
 * resolves. The first failure is kept: {@linkcode add} and {@linkcode drain}
 * reject with it from then on.
 */
export class WriteBehind {
  readonly #limit: number;
  readonly #inFlight: Promise<unknown>[] = [];
  readonly #failed: (error: unknown) => void;
  #failure: { error: unknown } | undefined;

  /**
   * @param limit How many writes may stay in flight.
   * @param failed Told of the first failure as soon as it happens.
   */
  constructor(limit: number, failed: (error: unknown) => void = () => {}) {
    this.#limit = limit;
    this.#failed = failed;
  }

  /** The first failure, if a write has failed. */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /** Tracks `write`; resolves once at most `limit` writes are in flight. */
  add(write: Promise<unknown>): Promise<void> {
    write.catch((error) => {
      if (this.#failure !== undefined) return;
      this.#failure = { error };
      this.#failed(error);
    });
    this.#inFlight.push(write);
    const excess = this.#inFlight.length - this.#limit;
    return excess > 0 ? this.#settle(excess) : Promise.resolve();
  }

  /** Waits until every write has landed. */
  drain(): Promise<void> {
    return this.#settle(this.#inFlight.length);
  }

  async #settle(count: number): Promise<void> {
    await Promise.allSettled(this.#inFlight.splice(0, count));
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}
