/**
 * `Reader`: a file's contents from an offset, chunk by chunk.
 *
 * @module
 */

import { type AIOFile, type DataOf, fileAccess } from "./aiofile.ts";
import { concat } from "./bytes.ts";
import { ChunkSource } from "./chunks.ts";
import { Semaphore } from "../impl/shared/semaphore.ts";
import { signalOf } from "../impl/shared/abort.ts";
import { StrictDecoder } from "./strict_decoder.ts";
import { type TextLayout, textLayout } from "./text_layout.ts";
import { checkNonNegative, checkPositive } from "./validate.ts";

/**
 * Default {@linkcode ReaderOptions.chunkSize}: 32 KiB.
 *
 * @example The chunk size of a reader made without one
 * ```ts
 * import { AIOFile, DEFAULT_CHUNK_SIZE, Reader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array(100_000));
 * await using afp = await AIOFile.open(path, "rb");
 * const reader = new Reader(afp);
 * assert.equal(reader.chunkSize, DEFAULT_CHUNK_SIZE);
 * assert.equal((await reader.read()).length, 32768);
 * ```
 */
export const DEFAULT_CHUNK_SIZE = 32768;

/**
 * Default {@linkcode ReaderOptions.readAheadBytes}: up to 2 MiB read ahead of
 * the consumer.
 *
 * @example 2 MiB, unless asked otherwise
 * ```ts
 * import { AIOFile, DEFAULT_READ_AHEAD_BYTES, Reader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_READ_AHEAD_BYTES, 2 * 1024 * 1024);
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * await using afp = await AIOFile.open(path);
 * const reader = new Reader(afp, { readAheadBytes: 0 }); // reads what is asked
 * assert.equal(await reader.read(), "abc");
 * ```
 */
export const DEFAULT_READ_AHEAD_BYTES = 2 * 2 ** 20;

/**
 * Options for {@linkcode Reader}.
 *
 * @example Chunks of 4 bytes from offset 2
 * ```ts
 * import { AIOFile, Reader, type ReaderOptions } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "0123456789");
 * await using afp = await AIOFile.open(path);
 * const options: ReaderOptions = { offset: 2, chunkSize: 4 };
 * const chunks = await Array.fromAsync(new Reader(afp, options));
 * assert.deepEqual(chunks, ["2345", "6789"]);
 * ```
 */
export interface ReaderOptions {
  /** The byte offset of the first chunk. Default 0. */
  offset?: number;
  /** The size of a chunk in bytes. Default 32768. */
  chunkSize?: number;
  /**
   * How many bytes may be read ahead of the consumer (0 turns reading ahead
   * off; at least one chunk otherwise). The allowance grows from nothing as
   * chunks are taken in sequence, so a short read or a small file is not read
   * far past what is used. Default 2 MiB.
   */
  readAheadBytes?: number;
  /** Once it aborts, calls and iteration reject with its reason and reads in flight are cancelled. */
  signal?: AbortSignal;
}

/**
 * Reads a file from an offset, one chunk at a time, with reads ahead in flight so
 * that a sequential pass keeps the backend busy.
 *
 * Binary files give `Uint8Array` chunks of `chunkSize` bytes (fewer at the end).
 * Text files give strings: a chunk that would cut a character is extended to
 * finish it, so no character is ever split and no chunk is empty before the end.
 * Text is decoded strictly: bytes that are not valid in the file's encoding reject
 * with a `TypeError`. Streaming text supports UTF-8, UTF-16 and single-byte
 * encodings.
 *
 * A long sequential pass reads up to 1 MiB at a time into a few buffers it
 * reuses; each binary chunk is copied out into memory of its own (its
 * `byteOffset` is 0 and its `buffer` holds only its bytes), so a chunk kept
 * keeps only itself alive and can be transferred.
 *
 * Calls to {@linkcode read} may overlap: they resolve to consecutive chunks, in
 * call order. Data appended to the file after the end was reached is read by the
 * next call; data written into a range already read ahead may not be.
 *
 * With a `signal` in the options, once it aborts, {@linkcode read} and each
 * step of an iteration reject with `signal.reason` (at once, for a signal
 * aborted already: nothing is read), and the reads in flight are cancelled.
 *
 * @example Read a file in chunks
 * ```ts
 * import { AIOFile, Reader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "Hello world");
 * await using afp = await AIOFile.open(path, "r");
 * const chunks = [];
 * for await (const chunk of new Reader(afp, { chunkSize: 4 })) chunks.push(chunk);
 * assert.deepEqual(chunks, ["Hell", "o wo", "rld"]);
 * ```
 *
 * @example One chunk at a time
 * ```ts
 * import { AIOFile, Reader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
 * await using afp = await AIOFile.open(path, "rb");
 * const reader = new Reader(afp, { offset: 1 });
 * assert.deepEqual(await reader.read(), new Uint8Array([2, 3]));
 * assert.equal((await reader.read()).length, 0); // the end
 * ```
 */
export class Reader<M extends string = "r">
  implements AsyncIterable<DataOf<M>> {
  /** The file read. */
  readonly file: AIOFile<M>;
  /** The size of a chunk in bytes. */
  readonly chunkSize: number;
  readonly #source: ChunkSource;
  readonly #serial = new Semaphore(1);
  readonly #layout: TextLayout | undefined;
  readonly #decoder: StrictDecoder | undefined;
  readonly #signal: AbortSignal | undefined;
  /** Bytes read but not returned yet (after a chunk was extended into the next). */
  #carry: Uint8Array | undefined;
  #offset: number;

  /**
   * Reads `file` from `options.offset`, one chunk at a time.
   *
   * @param file An `AIOFile` open for reading (or about to be).
   * @throws {TypeError|RangeError} for a bad option; {@linkcode TypeError} for a
   * text encoding that cannot be streamed.
   */
  constructor(file: AIOFile<M>, options: ReaderOptions = {}) {
    const {
      offset = 0,
      chunkSize = DEFAULT_CHUNK_SIZE,
      readAheadBytes = DEFAULT_READ_AHEAD_BYTES,
    } = options;
    this.file = file;
    this.#offset = checkNonNegative("offset", offset);
    this.chunkSize = checkPositive("chunkSize", chunkSize);
    checkNonNegative("readAheadBytes", readAheadBytes);
    this.#signal = signalOf(options);
    this.#source = new ChunkSource(
      fileAccess(file),
      offset,
      chunkSize,
      readAheadBytes,
      // The source's chunks never leave: text chunks are decoded, binary ones
      // copied into memory of their own. `#extend` joins chunks by copying,
      // and a chunk's bytes are decoded or copied before the chunk after the
      // next one is asked for (see `ChunkOwnership`).
      "borrowed",
      this.#signal,
    );
    if (!file.mode.binary) {
      this.#layout = textLayout(file.encoding);
      this.#decoder = new StrictDecoder(file.encoding);
    }
  }

  /**
   * The byte offset right after the chunks returned so far.
   *
   * @example A text chunk finishes its last character
   * ```ts
   * import { AIOFile, Reader } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "héllo");
   * await using afp = await AIOFile.open(path);
   * const reader = new Reader(afp, { chunkSize: 2 });
   * assert.equal(await reader.read(), "hé"); // 3 bytes: "é" is not cut
   * assert.equal(reader.offset, 3);
   * ```
   */
  get offset(): number {
    return this.#offset;
  }

  /**
   * The next chunk; an empty one (`""` or empty bytes) at the end of the file.
   *
   * @example Overlapping calls give consecutive chunks
   * ```ts
   * import { AIOFile, Reader } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "aabbcc");
   * await using afp = await AIOFile.open(path);
   * const reader = new Reader(afp, { chunkSize: 2 });
   * const chunks = await Promise.all([1, 2, 3, 4].map(() => reader.read()));
   * assert.deepEqual(chunks, ["aa", "bb", "cc", ""]);
   * ```
   */
  read(): Promise<DataOf<M>> {
    return this.#serial.run(
      () => this.#read(),
      this.#signal,
    ) as Promise<DataOf<M>>;
  }

  /**
   * The chunks up to the end of the file.
   *
   * @example Count the bytes of a file
   * ```ts
   * import { AIOFile, Reader } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeFile(path, new Uint8Array(100_000));
   * await using afp = await AIOFile.open(path, "rb");
   * let total = 0;
   * for await (const chunk of new Reader(afp)) total += chunk.length;
   * assert.equal(total, 100_000);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<DataOf<M>> {
    for (;;) {
      const chunk = await this.read();
      if (chunk.length === 0) return;
      yield chunk;
    }
  }

  async #read(): Promise<string | Uint8Array> {
    let bytes = this.#carry ?? await this.#source.next();
    this.#carry = undefined;
    if (this.#layout !== undefined) {
      if (bytes.length < this.chunkSize) bytes = await this.#extend(bytes, 0);
      bytes = await this.#finishCharacter(bytes);
    }
    const start = this.#offset;
    this.#offset += bytes.length;
    // A binary chunk owns its memory, shared with no other chunk.
    if (this.#decoder === undefined) return bytes.slice();
    return this.#decoder.decodeAt(bytes, this.file.name, start);
  }

  /**
   * Extends `bytes` with the start of the next chunks, up to `chunkSize` bytes
   * or, with `missing` > 0, by that many bytes; keeps the rest for the next call.
   * Fewer at the end of the file.
   */
  async #extend(bytes: Uint8Array, missing: number): Promise<Uint8Array> {
    const wanted = missing > 0 ? bytes.length + missing : this.chunkSize;
    while (bytes.length < wanted) {
      const next = this.#carry ?? await this.#source.next();
      this.#carry = undefined;
      if (next.length === 0) break;
      const take = Math.min(wanted - bytes.length, next.length);
      bytes = concat(bytes, next.subarray(0, take));
      if (take < next.length) this.#carry = next.subarray(take);
    }
    return bytes;
  }

  /** Extends `bytes` until its last character is whole (or the file ends). */
  async #finishCharacter(bytes: Uint8Array): Promise<Uint8Array> {
    const layout = this.#layout!;
    for (;;) {
      const end = layout.completeEnd(bytes, 0, bytes.length);
      if (end === bytes.length) return bytes;
      const missing = end + layout.charLength(bytes, end, bytes.length) -
        bytes.length;
      const longer = await this.#extend(bytes, missing);
      // Cut at the end of the file: decoding will fail and say so.
      if (longer.length === bytes.length) return bytes;
      bytes = longer;
    }
  }
}
