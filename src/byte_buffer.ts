/**
 * `ByteBuffer`: bytes gathered read after read, in memory that grows
 * geometrically.
 *
 * @module
 */

/**
 * Bytes appended chunk after chunk. The memory doubles when it is full, so
 * gathering n bytes copies fewer than 3n bytes however small the chunks are.
 * The first chunk is kept as it is (no copy): a result that fits in one read
 * costs nothing more than that read.
 */
export class ByteBuffer {
  /** The memory: the bytes held, then room for more. */
  #memory: Uint8Array = new Uint8Array(0);
  #length = 0;

  /** How many bytes are held. */
  get length(): number {
    return this.#length;
  }

  /**
   * The memory, whose first {@linkcode length} bytes are the bytes held (it
   * may be longer). A view, valid until the next {@linkcode append}.
   */
  get memory(): Uint8Array {
    return this.#memory;
  }

  /**
   * Adds `chunk` after the bytes held. The first chunk is kept, not copied: it
   * must not change while it is held. Its memory is never written to: the
   * next chunk moves the bytes to memory of the buffer's own.
   */
  append(chunk: Uint8Array): void {
    if (this.#length === 0) {
      this.#memory = chunk;
      this.#length = chunk.length;
      return;
    }
    const length = this.#length + chunk.length;
    if (length > this.#memory.length) {
      const bigger = new Uint8Array(Math.max(length, 2 * this.#memory.length));
      bigger.set(this.#memory.subarray(0, this.#length));
      this.#memory = bigger;
    }
    this.#memory.set(chunk, this.#length);
    this.#length = length;
  }

  /**
   * The first `end` bytes, for a caller to keep, in memory of their own (its
   * `buffer` holds them and nothing else): the memory itself when they fill
   * it, else a copy.
   */
  take(end: number): Uint8Array {
    const bytes = this.#memory.subarray(0, end);
    return bytes.byteOffset === 0 && end === bytes.buffer.byteLength
      ? bytes
      : bytes.slice();
  }
}
