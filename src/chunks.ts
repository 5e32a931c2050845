/**
 * Sequential chunks of a file's bytes, with reads ahead of the consumer.
 *
 * @module
 */

import type { ByteReadable } from "./file_access.ts";

export type { ByteReadable };

/**
 * How a chunk source hands out chunks:
 *
 * - `"owned"`: each chunk is the caller's to keep (views of buffers that the
 *   source never touches again).
 * - `"borrowed"`: chunks are views of buffers the source reads into again
 *   later. The chunks of one buffer stay valid until {@linkcode ChunkSource.next}
 *   is called after a chunk of a later buffer was returned (an empty chunk, at
 *   the end of the file, does not count): a caller may keep
 *   the bytes of its last chunk, and of the chunks before it in the same
 *   buffer, but must copy them before asking for the chunk after a new one.
 *   This saves the fresh memory of each read (allocated, zeroed and faulted in
 *   by the kernel, then collected), which costs as much as the read itself.
 */
export type ChunkOwnership = "owned" | "borrowed";

/** Spare buffers a borrowing chunk source keeps for its next reads. */
const SPARE_BUFFERS = 4;

/**
 * The largest read a chunk source asks for at once: several chunks are read in
 * one request of up to this size and handed out as views of its buffer.
 * Measured on a page-cached file (`bench/layer.ts`): 64 KiB chunks read 1 MiB
 * at a time cost about half as much per byte as 64 KiB reads, since a fresh
 * 64 KiB buffer per chunk (allocated, zeroed, collected) costs about as much
 * as the copy out of the page cache.
 */
export const READ_REQUEST_MAX = 2 ** 20;

interface Pending {
  readonly offset: number;
  readonly size: number;
  readonly bytes: Promise<Uint8Array>;
}

/**
 * The bytes of a file from an offset, in chunks of `chunkSize` (fewer at the end
 * of the file, then empty ones).
 *
 * Reads ahead of the consumer, up to `readAheadBytes`: the allowance starts at
 * nothing and grows with what the consumer takes, so a one-off read costs one
 * request of one chunk and a short file is not read far past its end, while a
 * long sequential read keeps requests of up to
 * {@linkcode READ_REQUEST_MAX} bytes in flight. Chunks read together are views
 * of one buffer (each chunk its own range of it); if a caller transfers that
 * buffer, the chunks not taken yet are read again. With `"borrowed"` chunks
 * (see {@linkcode ChunkOwnership}) a long pass reads into the same few buffers
 * over and over.
 *
 * Nothing past the end of the file is kept: when a request comes back short,
 * the reads after it are dropped and, once its chunks are taken, the next chunk
 * is read afresh, so data appended meanwhile is seen. Data written into a range
 * already requested may not be.
 *
 * Callers take chunks one at a time: {@linkcode next} must not be called again
 * before its promise settles.
 */
export class ChunkSource {
  readonly #file: ByteReadable;
  readonly #chunkSize: number;
  readonly #readAheadBytes: number;
  readonly #queue: Pending[] = [];
  /** Bytes requested by `#queue`. */
  #queued = 0;
  /** The bytes of the last request that are not taken yet. */
  #current: Uint8Array | undefined;
  /** Where `#current` starts in the file. */
  #currentOffset = 0;
  /** Bytes taken since the start, or since reads ahead were last dropped. */
  #taken = 0;
  /** Where the next request starts. */
  #next: number;
  /** `#current` ends at the end of the file: nothing is read ahead of it. */
  #atEnd = false;
  /**
   * Borrowed mode: buffers free for the next reads. Each read gets a whole one,
   * so a chunk's `buffer` is its read's.
   */
  readonly #spare: ArrayBuffer[] | undefined;
  /** Borrowed mode: the buffer of the last chunk returned. */
  #lastBlock: ArrayBuffer | undefined;
  /** Borrowed mode: buffers all taken, to reuse once the caller moved past them. */
  #retired: ArrayBuffer[] = [];
  /** Cancels every read this source makes, reads ahead included. */
  readonly #signal: AbortSignal | undefined;

  /**
   * @param signal Passed to every read: once it aborts, the read awaited and
   * those ahead reject with its reason (a read's buffer is then never reused).
   */
  constructor(
    file: ByteReadable,
    offset: number,
    chunkSize: number,
    readAheadBytes: number,
    ownership: ChunkOwnership = "owned",
    signal?: AbortSignal,
  ) {
    this.#file = file;
    this.#signal = signal;
    this.#next = offset;
    this.#chunkSize = chunkSize;
    this.#readAheadBytes = readAheadBytes;
    if (ownership === "borrowed") this.#spare = [];
  }

  /** The next chunk: `chunkSize` bytes, fewer at the end of the file, empty past it. */
  next(): Promise<Uint8Array> {
    return this.#nextUpTo(this.#chunkSize);
  }

  /**
   * The next bytes of one read, whole: what is left of the read the last chunk
   * came from, or else the next read's bytes (from `chunkSize` up to
   * {@linkcode READ_REQUEST_MAX}); empty past the end of the file. With
   * `"owned"` chunks, when only this method is called, each result starts where
   * its buffer starts and no other result shares that buffer, so a caller may
   * transfer it (as a byte stream's `enqueue` does).
   */
  nextRead(): Promise<Uint8Array> {
    return this.#nextUpTo(Infinity);
  }

  /** The next `most` bytes of `#current` (at most), reading when it is empty. */
  #nextUpTo(most: number): Promise<Uint8Array> {
    if (this.#retired.length > 0) this.#recycle();
    if (
      this.#current !== undefined &&
      (this.#current.buffer as ArrayBuffer).detached
    ) {
      // A chunk handed out was transferred, and the rest of its read with it:
      // read that part again.
      this.#current = undefined;
      this.#restart(this.#currentOffset);
      this.#atEnd = false;
    }
    if (this.#current !== undefined) {
      const chunk = this.#take(most);
      this.#readAhead();
      return Promise.resolve(chunk);
    }
    return this.#nextRequest(most);
  }

  async #nextRequest(most: number): Promise<Uint8Array> {
    let head = this.#queue.shift();
    if (head !== undefined) this.#queued -= head.size;
    else head = this.#request(this.#chunkSize);
    this.#atEnd = false;
    // What the head holds beyond what it is awaited for is ahead too.
    this.#readAhead(head.size - Math.min(head.size, most));
    let bytes: Uint8Array;
    try {
      bytes = await head.bytes;
    } catch (error) {
      this.#restart(head.offset);
      throw error;
    }
    if (bytes.length < head.size) {
      this.#restart(head.offset + bytes.length);
      this.#atEnd = true;
    }
    this.#current = bytes;
    this.#currentOffset = head.offset;
    return this.#take(most);
  }

  /**
   * The next `most` bytes of `#current` (a chunk, or all that is left), which
   * it leaves undefined when all is taken.
   */
  #take(most: number): Uint8Array {
    const current = this.#current!;
    const block = this.#spare === undefined
      ? undefined
      : current.buffer as ArrayBuffer;
    // An empty chunk (the end of the file) holds no bytes: its buffer is free at
    // once, and the caller may still hold the chunks before it.
    if (current.length > 0) this.#lastBlock = block;
    if (current.length <= most) {
      this.#current = undefined;
      if (block !== undefined) {
        if (current.length > 0) this.#retired.push(block);
        else this.#addSpare(block);
      }
      // Past the end of the file, reading ahead starts over from nothing.
      this.#taken = this.#atEnd ? 0 : this.#taken + current.length;
      return current;
    }
    this.#current = current.subarray(most);
    this.#currentOffset += most;
    this.#taken += most;
    return current.subarray(0, most);
  }

  /**
   * Requests what the allowance leaves room for: as many bytes as were taken
   * in sequence so far, up to `#readAheadBytes` (one chunk at least).
   */
  #readAhead(pending = 0): void {
    if (
      this.#atEnd || this.#taken === 0 || this.#readAheadBytes === 0 ||
      !this.#file.seekable
    ) {
      return;
    }
    const chunk = this.#chunkSize;
    const allowance = Math.max(
      chunk,
      Math.min(this.#readAheadBytes, this.#taken),
    );
    // Half the allowance per request, so that one is in flight while the
    // consumer takes the chunks of another.
    const size = Math.max(
      chunk,
      Math.floor(Math.min(READ_REQUEST_MAX, allowance / 2) / chunk) * chunk,
    );
    let ahead = pending + this.#queued + (this.#current?.length ?? 0);
    while (ahead + size <= allowance) {
      this.#queue.push(this.#request(size));
      this.#queued += size;
      ahead += size;
    }
  }

  /** Drops the reads ahead (their results are ignored) and goes on from `offset`. */
  #restart(offset: number): void {
    this.#queue.length = 0;
    this.#queued = 0;
    this.#taken = 0;
    this.#next = offset;
  }

  #request(size: number): Pending {
    const offset = this.#next;
    this.#next += size;
    let bytes: Promise<Uint8Array>;
    if (this.#spare === undefined) {
      bytes = this.#file.readBytes(size, offset, this.#signal);
    } else {
      // A dropped read's buffer is never reused (the read may still be going
      // on): only buffers whose chunks were all taken come back.
      const into = new Uint8Array(this.#spareOf(size), 0, size);
      bytes = this.#file.readInto(into, offset, this.#signal).then((n) =>
        into.subarray(0, n)
      );
    }
    // A read ahead may fail before anyone waits for it, or be dropped.
    bytes.catch(() => {});
    return { offset, size, bytes };
  }

  /** A spare buffer of at least `size` bytes, or a new one. */
  #spareOf(size: number): ArrayBuffer {
    const spare = this.#spare!;
    const at = spare.findIndex((block) => block.byteLength >= size);
    return at === -1 ? new ArrayBuffer(size) : spare.splice(at, 1)[0];
  }

  /** Gives back the buffers the caller has moved past: all but the last chunk's. */
  #recycle(): void {
    const keep = this.#retired.filter((block) => block === this.#lastBlock);
    for (const block of this.#retired) {
      if (block !== this.#lastBlock) this.#addSpare(block);
    }
    this.#retired = keep;
  }

  #addSpare(block: ArrayBuffer): void {
    const spare = this.#spare!;
    spare.push(block);
    if (spare.length > SPARE_BUFFERS) {
      // Keep the largest: requests grow as a pass goes on.
      spare.sort((a, b) => b.byteLength - a.byteLength).length = SPARE_BUFFERS;
    }
  }
}
