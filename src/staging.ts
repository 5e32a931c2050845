/**
 * Staging buffers: memory of the library's own that a backend reads into on
 * behalf of a caller, for `AIOFile.readInto`.
 *
 * The kernel (and a pool thread) keeps the raw address of the memory it reads
 * into; V8 does not know of it. A caller's buffer could be transferred,
 * resized or collected while the read is in flight, and the kernel would then
 * write into freed memory. So a read into the caller's memory goes into a
 * staging buffer, which nothing outside the library can reach, and is copied
 * in once the read is over. Staging buffers are reused, so a loop of
 * `readInto` allocates nothing.
 *
 * @module
 */

/** The largest read staged at once: a larger `readInto` is read in steps. */
export const STAGED_READ_MAX = 1 << 20;

/** Reads of up to this many bytes take a small buffer, cut from a shared allocation. */
const SMALL = 4096;

/** How many small buffers share one allocation. */
const SMALL_PER_ALLOCATION = 64;

/** How many large buffers are kept for reuse when none is in use. */
const LARGE_SPARES = 4;

/**
 * A pool of staging buffers: small ones ({@linkcode SMALL} bytes) grow with the
 * number of small reads in flight at once and are never freed; large ones
 * ({@linkcode STAGED_READ_MAX} bytes) are kept up to {@linkcode LARGE_SPARES}.
 */
export class StagingBuffers {
  readonly #small: Uint8Array[] = [];
  readonly #large: Uint8Array[] = [];

  /**
   * A buffer of exactly `size` bytes (at most {@linkcode STAGED_READ_MAX}),
   * yours until {@linkcode give}. Its contents are undefined.
   */
  take(size: number): Uint8Array {
    if (size <= SMALL) {
      const buffer = this.#small.pop() ?? this.#allocateSmall();
      return size === SMALL ? buffer : buffer.subarray(0, size);
    }
    const buffer = this.#large.pop() ?? new Uint8Array(STAGED_READ_MAX);
    return size === STAGED_READ_MAX ? buffer : buffer.subarray(0, size);
  }

  /** Gives back a buffer from {@linkcode take}, once nothing uses it any more. */
  give(buffer: Uint8Array): void {
    const whole = new Uint8Array(
      buffer.buffer as ArrayBuffer,
      buffer.byteOffset,
      buffer.length <= SMALL ? SMALL : STAGED_READ_MAX,
    );
    if (whole.length === SMALL) this.#small.push(whole);
    else if (this.#large.length < LARGE_SPARES) this.#large.push(whole);
  }

  #allocateSmall(): Uint8Array {
    const memory = new ArrayBuffer(SMALL * SMALL_PER_ALLOCATION);
    for (let i = 1; i < SMALL_PER_ALLOCATION; i++) {
      this.#small.push(new Uint8Array(memory, i * SMALL, SMALL));
    }
    return new Uint8Array(memory, 0, SMALL);
  }
}

/** The staging buffers of this process (of this Worker). */
export const stagingBuffers: StagingBuffers = new StagingBuffers();
