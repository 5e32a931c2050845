/**
 * Sequential chunks of a file's bytes, with reads ahead of the consumer.
 *
 * @module
 */

/** What a chunk source needs of a file: positional byte reads. */
export interface ByteReadable {
  readBytes(size: number, offset: number): Promise<Uint8Array>;
}

interface Pending {
  readonly offset: number;
  readonly bytes: Promise<Uint8Array>;
}

/**
 * The bytes of a file from an offset, in chunks of `chunkSize` (fewer at the end
 * of the file, then empty ones). Reads ahead: after each chunk taken in sequence
 * the window of reads in flight doubles, up to `readAhead` chunks, so that a
 * one-off read costs one request and a long sequential read keeps the backend
 * busy.
 *
 * Nothing past the end of the file is kept: when a chunk comes back short, the
 * reads after it are dropped and the next chunk is read afresh, so data appended
 * meanwhile is seen. Data written into a range already requested may not be.
 *
 * Callers take chunks one at a time: {@linkcode next} must not be called again
 * before its promise settles.
 */
export class ChunkSource {
  readonly #file: ByteReadable;
  readonly #chunkSize: number;
  readonly #readAhead: number;
  readonly #queue: Pending[] = [];
  #window = 0;
  /** Where the next request starts. */
  #next: number;

  constructor(
    file: ByteReadable,
    offset: number,
    chunkSize: number,
    readAhead: number,
  ) {
    this.#file = file;
    this.#next = offset;
    this.#chunkSize = chunkSize;
    this.#readAhead = readAhead;
  }

  /** The next chunk: `chunkSize` bytes, fewer at the end of the file, empty past it. */
  async next(): Promise<Uint8Array> {
    const head = this.#queue.shift() ?? this.#request();
    while (this.#queue.length < this.#window) this.#queue.push(this.#request());
    this.#window = Math.min(this.#readAhead, Math.max(1, this.#window * 2));
    let bytes: Uint8Array;
    try {
      bytes = await head.bytes;
    } catch (error) {
      this.#restart(head.offset);
      throw error;
    }
    if (bytes.length < this.#chunkSize) {
      this.#restart(head.offset + bytes.length);
    }
    return bytes;
  }

  /** Drops the reads ahead (their results are ignored) and goes on from `offset`. */
  #restart(offset: number): void {
    this.#queue.length = 0;
    this.#window = 0;
    this.#next = offset;
  }

  #request(): Pending {
    const offset = this.#next;
    this.#next += this.#chunkSize;
    const bytes = this.#file.readBytes(this.#chunkSize, offset);
    // A read ahead may fail before anyone waits for it, or be dropped.
    bytes.catch(() => {});
    return { offset, bytes };
  }
}
