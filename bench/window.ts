/**
 * Drives requests the way fio does: a fixed number in flight, each completion
 * starting the next one at once (a sliding window, not batches that drain), for
 * a time or for a fixed amount of data.
 *
 * @module
 */

/** What a measurement moved, and how long it took. */
export interface Tally {
  readonly ops: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** What a request resolves to: the bytes it read, or how many it moved. */
export type Moved = number | Uint8Array;

/** One request in window slot `slot`. */
export type Request = (slot: number) => Promise<Moved>;

/**
 * How many completions pass between two looks at the clock: reading it costs
 * about as much as a cached 4 KiB read, and fio does not pay it per request
 * either.
 */
const CLOCK_EVERY = 64;

/**
 * Keeps `depth` requests in flight until `seconds` have passed, then waits for
 * the last ones. `request` must move `expect` bytes each time (a measurement must
 * not time failures or short transfers).
 */
export async function forSeconds(
  depth: number,
  seconds: number,
  expect: number,
  request: Request,
): Promise<Tally> {
  let ops = 0;
  let running = true;
  const started = performance.now();
  const end = started + seconds * 1000;
  const slot = async (index: number) => {
    do {
      checkMoved(await request(index), expect);
      if (++ops % CLOCK_EVERY === 0 && performance.now() >= end) {
        running = false;
      }
    } while (running);
  };
  await Promise.all(Array.from({ length: depth }, (_, i) => slot(i)));
  const elapsed = (performance.now() - started) / 1000;
  return { ops, bytes: ops * expect, seconds: elapsed };
}

/**
 * Issues `count` requests of `expect` bytes with `depth` in flight (request
 * `index` goes to window slot `slot`), then runs `finish` (an `fsync`, say)
 * inside the timed span.
 */
export async function forCount(
  depth: number,
  count: number,
  expect: number,
  request: (slot: number, index: number) => Promise<Moved>,
  finish: () => Promise<void>,
): Promise<Tally> {
  let next = 0;
  const started = performance.now();
  const slot = async (index: number) => {
    while (next < count) checkMoved(await request(index, next++), expect);
  };
  await Promise.all(
    Array.from({ length: Math.min(depth, count) }, (_, i) => slot(i)),
  );
  await finish();
  const elapsed = (performance.now() - started) / 1000;
  return { ops: count, bytes: count * expect, seconds: elapsed };
}

function checkMoved(moved: Moved, expect: number): void {
  const bytes = typeof moved === "number" ? moved : moved.length;
  if (bytes !== expect) {
    throw new Error(`a request moved ${bytes} bytes, expected ${expect}`);
  }
}

/**
 * Consecutive offsets of `block`-byte requests through a file of `bytes` bytes,
 * starting over at its beginning after its end.
 */
export class SequentialOffsets {
  readonly #block: number;
  readonly #limit: number;
  #next = 0;

  /** @param bytes The file size; a multiple of `block`. */
  constructor(bytes: number, block: number) {
    this.#block = block;
    this.#limit = Math.floor(bytes / block) * block;
    if (this.#limit === 0) {
      throw new RangeError(`a file of ${bytes} bytes is smaller than ${block}`);
    }
  }

  /** The next offset. */
  next(): number {
    const offset = this.#next;
    this.#next = offset + this.#block >= this.#limit ? 0 : offset + this.#block;
    return offset;
  }
}
