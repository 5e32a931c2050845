/**
 * Result buffers for a file's small reads, cut from shared `ArrayBuffer`s (as
 * Node.js pools small `Buffer`s): a fresh 4 KiB `Uint8Array` costs about 1 µs in
 * Deno, a view of a shared buffer about 0.2 µs.
 *
 * Each open file has its own, so a result's `buffer` only ever holds bytes read
 * from that file. Only for reads that the backend copies into once they are
 * over (see `BackendFile.copiedReadMax`): the kernel and other threads never
 * see these buffers, so nothing a caller does with one result (transferring its
 * `buffer`, say) can make the kernel write into freed memory. The library's own
 * readers (`ChunkSource`) never use them, so such a transfer cannot reach them.
 *
 * @module
 */

/** Each shared buffer holds this many bytes of results. */
const SLAB_SIZE = 65536;

/** Results of up to this many bytes are cut from a shared buffer. */
export const SMALL_RESULT_MAX = 4096;

/** The shared buffers of one file's small results. */
export class SmallResults {
  #slab = new ArrayBuffer(0);
  #used = 0;

  /**
   * A zeroed `Uint8Array` of `size` bytes (at most {@linkcode SMALL_RESULT_MAX})
   * that shares its `ArrayBuffer` with other results of the same file.
   */
  take(size: number): Uint8Array {
    if (this.#used + size > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(SLAB_SIZE);
      this.#used = 0;
    }
    const result = new Uint8Array(this.#slab, this.#used, size);
    this.#used += size;
    return result;
  }
}
