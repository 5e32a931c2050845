/**
 * Batches of the soak test's operations, run at once, whose outcome does not
 * depend on the order they complete in.
 *
 * Up to 32 operations are in flight at once, in batches whose outcome does not
 * depend on the order they complete in: the byte ranges of a batch are
 * disjoint, no read reaching past the end of the file shares a batch with a
 * write extending it, and `truncate` and `size()` run alone. An operation drawn
 * that conflicts with the batch is dropped and another drawn (so large reads
 * run less often than drawn; the table of counts shows what ran), and after 8
 * conflicts the batch closes. Reads are checked against the model as it was
 * before their batch, then the batch's writes (or truncate) are applied to it.
 *
 * @module
 */

import type { Model } from "./model.ts";
import { alone, nextOp, type Op } from "./operations.ts";
import type { Random } from "./random.ts";

/** The most operations in flight at once (one batch). */
export const MAX_BATCH = 32;
/** A batch closes after this many operations drawn for it conflicted with it (and were dropped). */
const MAX_CONFLICTS = 8;

/**
 * A batch being formed, for a file of `length` bytes. It takes an operation
 * unless its outcome could then depend on the order of completion.
 */
class Batch {
  readonly ops: Op[] = [];
  readonly #length: number;
  readonly #limit: number;
  readonly #ranges: [number, number][] = [];
  #closed = false;
  #extending = false;
  #readingPastEnd = false;

  constructor(length: number, limit: number) {
    this.#length = length;
    this.#limit = limit;
  }

  get full(): boolean {
    return this.#closed || this.ops.length >= this.#limit;
  }

  /** Adds `op` and returns true, or returns false when it conflicts. */
  tryAdd(op: Op): boolean {
    if (this.full) return false;
    if (alone(op)) {
      if (this.ops.length > 0) return false;
      this.#closed = true;
    } else if (op.kind === "read" || op.kind === "write") {
      const end = op.size === -1 ? Infinity : op.offset + op.size;
      if (this.#ranges.some(([from, to]) => op.offset < to && from < end)) {
        return false;
      }
      const pastEnd = end > this.#length;
      const reading = op.kind === "read";
      if (pastEnd && (reading ? this.#extending : this.#readingPastEnd)) {
        return false;
      }
      this.#ranges.push([op.offset, end]);
      if (pastEnd && reading) this.#readingPastEnd = true;
      if (pastEnd && !reading) this.#extending = true;
    }
    this.ops.push(op);
    return true;
  }
}

/**
 * Draws operations and forms batches. An operation that conflicts with the batch
 * is dropped and another drawn, so that every operation is drawn for the file as
 * it is (one drawn long before could undo a truncate); `truncate` and `size()`
 * drawn into a batch already begun run alone in the next one.
 */
export class Batcher {
  readonly #random: Random;
  readonly #model: Model;
  #held: Op | undefined;

  /** Draws from `random` for the file `model` describes (read as batches are formed). */
  constructor(random: Random, model: Model) {
    this.#random = random;
    this.#model = model;
  }

  /** The next batch: at least one operation, at most `limit`. */
  next(limit: number): Op[] {
    const batch = new Batch(this.#model.length, limit);
    if (this.#held !== undefined) batch.tryAdd(this.#held);
    this.#held = undefined;
    for (let conflicts = 0; !batch.full && conflicts < MAX_CONFLICTS;) {
      const op = nextOp(this.#random, this.#model.length);
      if (batch.tryAdd(op)) continue;
      if (alone(op)) {
        this.#held = op;
        break;
      }
      conflicts++;
    }
    return batch.ops;
  }
}
