/**
 * Small buffers that the kernel reads into on behalf of the caller: the
 * library's own, never handed out, reused for the life of the backend.
 *
 * A small buffered read goes into one of these and is copied into the caller's
 * buffer once it is over, so the caller's buffer is never seen by the kernel.
 * That lets `AIOFile` give small reads views of one shared `ArrayBuffer`
 * (`src/small_results.ts`): allocating a fresh 4 KiB `Uint8Array` costs about
 * 1 µs in Deno, a view of a shared buffer 0.2 µs and the copy 0.1 µs. Random
 * 4 KiB reads from the page cache at QD32 measured about 350k IOPS with fresh
 * buffers and about 500k with views (`deno run -A bench/run.ts
 * --only=randread-4k-qd32`).
 *
 * @module
 */

/** Reads of up to this many bytes go through a bounce buffer. */
export const BOUNCE_SIZE = 4096;

/** How many bounce buffers share one allocation. */
const PER_ALLOCATION = 64;

/**
 * A pool of {@linkcode BOUNCE_SIZE}-byte buffers. It grows with the number of
 * small reads in flight at once and never shrinks.
 *
 * @example
 * ```ts ignore
 * const bounce = pool.take();
 * try { n = await kernelRead(bounce.subarray(0, into.length)); into.set(...); }
 * finally { pool.give(bounce); } // only once the kernel is done with it
 * ```
 */
export class BouncePool {
  readonly #free: Uint8Array[] = [];

  /** A buffer of {@linkcode BOUNCE_SIZE} bytes, yours until {@linkcode give}. */
  take(): Uint8Array {
    const buffer = this.#free.pop();
    if (buffer !== undefined) return buffer;
    const memory = new ArrayBuffer(BOUNCE_SIZE * PER_ALLOCATION);
    for (let i = 1; i < PER_ALLOCATION; i++) {
      this.#free.push(new Uint8Array(memory, i * BOUNCE_SIZE, BOUNCE_SIZE));
    }
    return new Uint8Array(memory, 0, BOUNCE_SIZE);
  }

  /** Gives back a buffer from {@linkcode take}, once nothing uses it any more. */
  give(buffer: Uint8Array): void {
    this.#free.push(buffer);
  }
}
