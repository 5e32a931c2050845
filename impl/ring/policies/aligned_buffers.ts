/**
 * Aligned memory for `O_DIRECT` requests, kept for reuse. The kernel needs the
 * buffer of an `O_DIRECT` request aligned in memory, which the buffers `AIOFile`
 * allocates are not, so each request goes through a buffer of the backend's.
 * Allocating one per request (an `ArrayBuffer` of the length plus the
 * alignment) costs the JavaScript thread allocation and garbage collection at
 * every request; they are reused instead (figures: docs/performance.md,
 * "Aligned buffers for `O_DIRECT`").
 *
 * A buffer is taken for one request and given back once its completion is
 * reaped: the kernel never sees a buffer that is also in the pool.
 *
 * @module
 */

/** Buffers of this many bytes at most are kept for reuse; larger ones are allocated each time. */
export const POOLED_LENGTH_MAX = 1024 * 1024;

/** How many bytes of free buffers one pool keeps at most. */
export const POOLED_BYTES_MAX = 8 * 1024 * 1024;

/** A buffer of the pool: its view, and the alignment its address has. */
interface Pooled {
  readonly view: Uint8Array;
  readonly alignment: number;
}

/** A pool of aligned buffers, by length. */
export class AlignedBuffers {
  readonly #addressOf: (buffer: Uint8Array) => bigint;
  readonly #free = new Map<number, Pooled[]>();
  readonly #alignments = new WeakMap<Uint8Array, number>();
  #freeBytes = 0;

  /** @param addressOf The address of a buffer's first byte. */
  constructor(addressOf: (buffer: Uint8Array) => bigint) {
    this.#addressOf = addressOf;
  }

  /** Bytes held in free buffers. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * A buffer of `length` bytes whose address is a multiple of `alignment` (a
   * power of two), reused when one is free.
   */
  take(length: number, alignment: number): Uint8Array {
    const free = this.#free.get(length);
    if (free !== undefined) {
      for (let i = free.length - 1; i >= 0; i--) {
        if (free[i].alignment % alignment === 0) {
          const taken = free[i];
          free[i] = free[free.length - 1];
          free.pop();
          this.#freeBytes -= length;
          this.#alignments.set(taken.view, taken.alignment);
          return taken.view;
        }
      }
    }
    const raw = new Uint8Array(length + alignment);
    const misalignment = Number(this.#addressOf(raw) % BigInt(alignment));
    const start = misalignment === 0 ? 0 : alignment - misalignment;
    const view = raw.subarray(start, start + length);
    this.#alignments.set(view, alignment);
    return view;
  }

  /**
   * Gives back a buffer from {@linkcode take} that no request uses any more. It
   * is kept while the pool has room, else left to the garbage collector. A
   * buffer given back twice is kept once.
   */
  give(buffer: Uint8Array): void {
    const alignment = this.#alignments.get(buffer);
    this.#alignments.delete(buffer);
    const length = buffer.length;
    if (
      alignment === undefined || length > POOLED_LENGTH_MAX ||
      this.#freeBytes + length > POOLED_BYTES_MAX
    ) {
      return;
    }
    let free = this.#free.get(length);
    if (free === undefined) this.#free.set(length, free = []);
    free.push({ view: buffer, alignment });
    this.#freeBytes += length;
  }
}
