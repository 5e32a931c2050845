/**
 * The requests of a kernel queue between their submission and their
 * completion: one slot each (its index is the `user_data` the kernel gives
 * back), at most as many as the queue has slots; more wait for a slot.
 *
 * @module
 */

import { waitInLine } from "../shared/abort.ts";

/** The operations a kernel queue performs. */
export type RingOp = "read" | "write" | "fsync" | "fdatasync";

/** One request between its submission and its completion. */
export interface RingRequest {
  readonly op: RingOp;
  /** The file's path, for errors. */
  readonly path: string;
  /** `O_DIRECT`: the alignment its offsets and lengths follow (1 otherwise). */
  readonly alignment: number;
  /** The memory the kernel reads or writes: held until the completion is reaped. */
  readonly buffer: Uint8Array | undefined;
  readonly resolve: (result: number) => void;
  readonly reject: (error: unknown) => void;
  /** Its slot. */
  readonly slot: number;
  /** The caller's signal, if any. */
  readonly signal: AbortSignal | undefined;
  /** Stops following the signal (at the completion), once it follows it. */
  forget: (() => void) | undefined;
}

/** The slots of a kernel queue and the requests in them. */
export class RequestTable {
  readonly #requests: (RingRequest | undefined)[];
  readonly #free: number[] = [];
  readonly #waiters: (() => void)[] = [];

  /** @param slots How many requests may be in flight at once. */
  constructor(slots: number) {
    this.#requests = new Array(slots);
    for (let slot = slots - 1; slot >= 0; slot--) this.#free.push(slot);
  }

  /** A free slot, or `undefined` when all are taken ({@linkcode waitForSlot}). */
  take(): number | undefined {
    return this.#free.pop();
  }

  /**
   * Resolves when a slot is given back (or {@linkcode releaseWaiters} is
   * called); rejects with the reason of `signal` if it aborts first.
   */
  waitForSlot(signal?: AbortSignal): Promise<void> {
    return waitInLine(this.#waiters, signal);
  }

  /** Puts `request` in the `slot` taken for it. */
  put(slot: number, request: RingRequest): void {
    this.#requests[slot] = request;
  }

  /** The request in `slot`, if one is there. */
  get(slot: number): RingRequest | undefined {
    return this.#requests[slot];
  }

  /** The request in `slot`; the slot is free again, and one waiter gets it. */
  release(slot: number): RingRequest {
    const request = this.#requests[slot]!;
    this.#requests[slot] = undefined;
    this.#free.push(slot);
    this.#waiters.shift()?.();
    return request;
  }

  /** Wakes the first request waiting for a slot, if a slot is free. */
  passOn(): void {
    if (this.#free.length > 0) this.#waiters.shift()?.();
  }

  /** Wakes every request waiting for a slot (the queue is closing: they are refused then). */
  releaseWaiters(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
