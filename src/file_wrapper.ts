/**
 * File-like objects with a position: `BinaryFileWrapper` and `TextFileWrapper`.
 *
 * @module
 */

import { type AIOFile, fileAccess, type OperationOptions } from "./aiofile.ts";
import { encodeSeparator, LineReader } from "./line_reader.ts";
import { indexOfSeparator } from "./bytes.ts";
import { ByteBuffer } from "./byte_buffer.ts";
import { ChunkSource } from "./chunks.ts";
import type { ByteReadable } from "./file_access.ts";
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_READ_AHEAD_BYTES,
  Reader,
} from "./reader.ts";
import { Semaphore } from "../impl/shared/semaphore.ts";
import { abortable, signalOf } from "../impl/shared/abort.ts";
import { StrictDecoder } from "./strict_decoder.ts";
import { readableFrom, STREAM_CHUNK_SIZE, writableTo } from "./streams.ts";
import {
  type CharProgress,
  type TextLayout,
  textLayout,
} from "./text_layout.ts";
import type { FileMode } from "./mode.ts";
import {
  checkNonNegative,
  checkPositive,
  checkSize,
  describeValue,
} from "./validate.ts";

/**
 * How many bytes `readLine` reads first; each further read of the same line
 * asks for twice as many, up to {@linkcode READLINE_MAX_READ}, so a short line
 * costs a small read and a long one few requests.
 */
const READLINE_FIRST_READ = 8192;

/** The largest read of `readLine`: 1 MiB, read without asking the file's size. */
const READLINE_MAX_READ = 1 << 20;

/**
 * What {@linkcode FileWrapper} shares between its binary and text forms: a
 * position in bytes, reads and writes that move it, lines, chunks and streams.
 *
 * Operations run in call order, one after another: a read issued after a write
 * sees it. Writes do not wait for each other (except in append modes): each one
 * takes its place when it is made, so concurrent writes land one after another.
 * {@linkcode seek} and {@linkcode tell} are synchronous: await the operations
 * whose position you depend on first.
 *
 * @typeParam D `Uint8Array` for binary files, `string` for text files.
 *
 * @example Operations run in call order
 * ```ts
 * import { asyncOpen, type FileWrapper } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await using afp: FileWrapper<string, "w+"> = await asyncOpen(path, "w+");
 * afp.write("Hello "); // not awaited: the read below comes after both writes
 * afp.write("world");
 * assert.equal(afp.tell(), 11);
 * afp.seek(0);
 * assert.equal(await afp.read(), "Hello world");
 * ```
 */
export abstract class FileWrapper<
  D extends string | Uint8Array,
  M extends string = string,
> implements AsyncIterable<D>, AsyncDisposable {
  /**
   * The underlying positional file, typed by its mode (`AIOFile<"rb">`).
   *
   * @example Positional reads leave the position alone
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+");
   * await afp.write("Hello world");
   * assert.equal(await afp.file.read(5, 6), "world");
   * assert.equal(afp.tell(), 11);
   * ```
   */
  readonly file: AIOFile<M>;
  readonly #serial = new Semaphore(1);
  readonly #writes = new Set<Promise<number>>();
  readonly #layout: TextLayout | undefined;
  readonly #decoder: StrictDecoder | undefined;
  /** The position where the next operation to run starts. */
  #position: number;
  /** The position after every operation issued, when known (no read in the way). */
  #planned: number | undefined;
  #closing: Promise<void> | undefined;
  /**
   * For a file that cannot seek: the bytes read from it and not consumed yet
   * (a line's read goes past the line). The stream's own position is
   * `#position + #held.length`. Undefined for a file that can seek, whose
   * reads simply start again at the position.
   */
  #held: Uint8Array | undefined;
  /** Cancels every operation but `close` (see the constructor). */
  readonly #signal: AbortSignal | undefined;
  /** `{ signal }`, for the file's own methods. */
  readonly #options: OperationOptions;

  /**
   * Wraps an open file; {@linkcode asyncOpen} is the usual way to get one.
   *
   * @param position The starting position in bytes.
   * @param options `signal`: once it aborts, every operation but
   * {@linkcode close} (reads, writes, lines, chunks, streams, `stat`, `flush`,
   * `seek` from the end) rejects with `signal.reason`, at once for one
   * called after, and the requests in flight are cancelled; `close` still
   * waits for the writes to settle, then syncs and closes.
   * @throws {TypeError|RangeError} for a bad position or a `signal` that is
   * not an `AbortSignal`.
   */
  constructor(
    file: AIOFile<M>,
    position = 0,
    options: OperationOptions = {},
  ) {
    this.file = file;
    this.#position = checkNonNegative("position", position);
    this.#signal = signalOf(options);
    this.#options = { signal: this.#signal };
    if (!file.seekable) this.#held = new Uint8Array(0);
    if (!file.mode.binary) {
      this.#layout = textLayout(file.encoding);
      this.#decoder = new StrictDecoder(file.encoding);
    }
  }

  /**
   * The file's name (its path, or `<Deno.FsFile>`).
   *
   * @example The path it was opened with
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await asyncOpen(path);
   * assert.equal(afp.name, path);
   * ```
   */
  get name(): string {
    return this.file.name;
  }

  /**
   * The parsed mode.
   *
   * @example What the mode allows
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await asyncOpen(await Deno.makeTempFile(), "r+b");
   * assert.equal(afp.mode.text, "r+b");
   * assert.equal(afp.mode.writable, true);
   * assert.equal(afp.mode.binary, true);
   * ```
   */
  get mode(): FileMode {
    return this.file.mode;
  }

  /**
   * True once closed.
   *
   * @example Open until closed
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const afp = await asyncOpen(await Deno.makeTempFile());
   * assert.equal(afp.closed, false);
   * await afp.close();
   * assert.equal(afp.closed, true);
   * ```
   */
  get closed(): boolean {
    return this.file.closed;
  }

  /**
   * The position in bytes, after every operation issued so far. While a read is
   * in flight its end is not known yet: this is then the position it started from.
   *
   * @example A position in bytes
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+");
   * await afp.write("héllo"); // 6 bytes in UTF-8
   * assert.equal(afp.tell(), 6);
   * afp.seek(0);
   * assert.equal(await afp.read(2), "hé");
   * assert.equal(afp.tell(), 3);
   * ```
   */
  tell(): number {
    return this.#serial.busy ? this.#planned ?? this.#position : this.#position;
  }

  /**
   * Moves the position (in bytes): `whence` 0 counts from the start, 1 from the
   * current position, both synchronously, returning the new position; 2 counts
   * from the end of the file, returning a `Promise` of the new position (the
   * file's size is asked for, after the operations called before; those
   * called after run after it).
   *
   * @example From the start, from here, from the end
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+");
   * await afp.write("Hello world");
   * assert.equal(afp.seek(6), 6);
   * assert.equal(afp.seek(-2, 1), 4);
   * assert.equal(await afp.seek(-5, 2), 6);
   * assert.equal(await afp.read(), "world");
   * ```
   *
   * @throws {TypeError|RangeError} for a bad offset or whence, or a position
   * before the start (from the end: the promise rejects).
   * @throws {Deno.errors.NotSupported} for a file that cannot seek (a pipe).
   */
  seek(offset: number, whence?: 0 | 1): number;
  /**
   * Moves the position to `offset` bytes from the end of the file (see the
   * first form); resolves to the new position.
   */
  seek(offset: number, whence: 2): Promise<number>;
  seek(offset: number, whence: 0 | 1 | 2 = 0): number | Promise<number> {
    if (this.#held !== undefined) {
      throw new Deno.errors.NotSupported(
        `'${this.name}' cannot seek (a pipe, a FIFO or a terminal): it is read and written in sequence`,
      );
    }
    if (whence !== 0 && whence !== 1 && whence !== 2) {
      throw new RangeError(
        `whence must be 0 (from the start), 1 (from the current position) or 2 (from the end), got ${
          describeValue(whence)
        }`,
      );
    }
    if (typeof offset !== "number" || !Number.isSafeInteger(offset)) {
      throw new TypeError(
        `offset must be an integer, got ${describeValue(offset)}`,
      );
    }
    if (whence === 2) return this.#seekFromEnd(offset);
    const position = whence === 0 ? offset : this.tell() + offset;
    if (position < 0) {
      throw new RangeError(
        `Cannot seek before the start of the file (to ${position})`,
      );
    }
    if (this.#serial.busy) {
      // Operations issued before it still run from their own positions.
      this.#serial.run(() => Promise.resolve(this.#position = position));
      this.#planned = position;
    } else {
      this.#position = position;
    }
    return position;
  }

  /** Seeks to `offset` from the end, in turn after the operations before it. */
  #seekFromEnd(offset: number): Promise<number> {
    return this.#afterWrites(async () => {
      const position = await this.file.size() + offset;
      // Rejected at the abort already: the position stays.
      this.#signal?.throwIfAborted();
      if (position < 0) {
        throw new RangeError(
          `Cannot seek before the start of the file (to ${position})`,
        );
      }
      this.#position = position;
      return position;
    });
  }

  /**
   * Reads from the position: `length` bytes in binary mode, `length` characters
   * (code points) in text mode, fewer at the end of the file; all the rest for -1.
   *
   * @example Characters in text mode, bytes in binary mode
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "héllo");
   * await using text = await asyncOpen(path, "r");
   * assert.equal(await text.read(2), "hé");
   * assert.equal(await text.read(), "llo");
   * await using binary = await asyncOpen(path, "rb");
   * assert.deepEqual(await binary.read(3), new Uint8Array([0x68, 0xc3, 0xa9]));
   * ```
   */
  read(length = -1): Promise<D> {
    return this.#afterWrites((): Promise<string | Uint8Array> => {
      checkSize("length", length);
      return this.#layout === undefined
        ? this.#readBytes(length)
        : this.#readText(length);
    }) as Promise<D>;
  }

  /**
   * Writes at the position and moves it past the data; resolves to the number of
   * bytes written.
   *
   * @example One write after another
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await asyncOpen(path, "w");
   * assert.equal(await afp.write("one "), 4);
   * await afp.write("two");
   * assert.equal(afp.tell(), 7);
   * assert.equal(await Deno.readTextFile(path), "one two");
   * ```
   */
  write(data: D): Promise<number> {
    return this.#write(() => fileAccess(this.file).encode(data));
  }

  /**
   * Reads one line from the position, like Python's `readline`: up to and
   * including `newline`, or to the end of the file. `size` (characters in text
   * mode, bytes in binary mode; -1 for no limit) cuts the line short; the position
   * ends right after what was returned, so nothing is lost.
   *
   * @example Lines, a limit, another separator
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "first line\na;b");
   * await using afp = await asyncOpen(path);
   * assert.equal(await afp.readLine(5), "first");
   * assert.equal(await afp.readLine(), " line\n");
   * assert.equal(await afp.readLine(-1, ";"), "a;");
   * assert.equal(await afp.readLine(), "b");
   * assert.equal(await afp.readLine(), ""); // the end
   * ```
   */
  readLine(size = -1, newline: string | Uint8Array = "\n"): Promise<D> {
    return this.#afterWrites(() => {
      checkSize("size", size);
      const separator = encodeSeparator(
        newline,
        this.#layout?.encode,
        "newline",
      );
      return this.#readLine(size, separator);
    }) as Promise<D>;
  }

  /**
   * The lines from the position on (see {@linkcode LineReader}); the position
   * follows them.
   *
   * @example Skip a header, then read the rows
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "header\nrow 1\nrow 2\n");
   * await using afp = await asyncOpen(path);
   * await afp.readLine();
   * const rows = [];
   * for await (const line of afp) rows.push(line);
   * assert.deepEqual(rows, ["row 1\n", "row 2\n"]);
   * assert.equal(afp.tell(), 19);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<D> {
    if (this.#held !== undefined) {
      // A stream's lines come from what was read of it already: one line at
      // a time, the rest held for the next call.
      return this.#each(() => this.readLine());
    }
    let lines: LineReader<M> | undefined;
    return this.#follow(
      () =>
        lines ??= new LineReader(this.file, {
          offset: this.#position,
          signal: this.#signal,
        }),
      (lines) => lines.readLine(),
    );
  }

  /**
   * The chunks from the position on (see {@linkcode Reader}); the position
   * follows them.
   *
   * @example Chunks of 4 bytes
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeFile(path, new Uint8Array(10));
   * await using afp = await asyncOpen(path, "rb");
   * const sizes = [];
   * for await (const chunk of afp.iterChunked(4)) sizes.push(chunk.length);
   * assert.deepEqual(sizes, [4, 4, 2]);
   * assert.equal(afp.tell(), 10);
   * ```
   */
  iterChunked(
    chunkSize: number = DEFAULT_CHUNK_SIZE,
  ): AsyncIterableIterator<D> {
    checkPositive("chunkSize", chunkSize);
    if (this.#held !== undefined) {
      return this.#each(() =>
        this.#afterWrites(() => this.#readChunk(chunkSize)) as Promise<D>
      );
    }
    let chunks: Reader<M> | undefined;
    return this.#follow(
      () =>
        chunks ??= new Reader(this.file, {
          offset: this.#position,
          chunkSize,
          signal: this.#signal,
        }),
      (chunks) => chunks.read(),
    );
  }

  /**
   * A new byte stream of the file's bytes (in every mode), from the position at
   * its first read to the end. Like the iterators, it keeps its own place (a
   * seek meanwhile does not move it), and the position follows what it takes
   * from the file: the bytes it delivers, and bytes it holds for a reader that
   * has not received them yet (a reader released during its read leaves them in
   * the stream). Cancelling it leaves the file open.
   *
   * A BYOB reader (`getReader({ mode: "byob" })`) has the file read into its
   * own buffers (the kernel writes into them, except for small views, which
   * are copied in), so it can use one buffer read after read and allocate
   * nothing; on a file opened with `direct: true`, views must hold a multiple
   * of the alignment, as every `O_DIRECT` read must. A default reader gets each
   * read whole, up to 1 MiB, in a buffer of its own.
   *
   * @example A stream for Web APIs
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "streamed");
   * await using afp = await asyncOpen(path);
   * assert.equal(await new Response(afp.readable).text(), "streamed");
   * assert.equal(afp.closed, false); // the stream leaves the file open
   * ```
   *
   * @example Reading into one buffer, over and over
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeFile(path, new Uint8Array(200_000).fill(7));
   * await using afp = await asyncOpen(path, "rb");
   * const reader = afp.readable.getReader({ mode: "byob" });
   * let buffer = new ArrayBuffer(65536);
   * let total = 0;
   * for (;;) {
   *   const { value, done } = await reader.read(new Uint8Array(buffer));
   *   if (done) break;
   *   total += value.length;
   *   buffer = value.buffer; // the same memory, given back
   * }
   * assert.equal(total, 200_000);
   * assert.equal(afp.tell(), 200_000);
   * ```
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    // Like the iterators, the stream keeps its own place, from the position at
    // its first read; the position follows it.
    let at: number | undefined;
    let chunks: ChunkSource | undefined;
    const reads = fileAccess(this.file);
    const signal = this.#signal;
    if (this.#held !== undefined) return this.#streamReadable(reads);
    const moved = (n: number) => {
      at! += n;
      this.#position = at!;
    };
    return readableFrom({
      nextRead: (deliver) =>
        this.#afterWrites(async () => {
          at ??= this.#position;
          chunks ??= new ChunkSource(
            reads,
            at,
            STREAM_CHUNK_SIZE,
            DEFAULT_READ_AHEAD_BYTES,
            "owned",
            signal,
          );
          const bytes = await chunks.nextRead();
          // Counted first: delivering transfers the buffer, which empties the view.
          const n = bytes.length;
          if (deliver(bytes)) moved(n);
        }),
      readInto: (into, deliver) =>
        this.#afterWrites(async () => {
          at ??= this.#position;
          // What the chunks read ahead is behind this read now: a default
          // reader after it starts afresh from the stream's place.
          chunks = undefined;
          const n = await reads.readInto(into, at, signal);
          if (deliver(n)) moved(n);
        }),
    }, signal);
  }

  /**
   * A new stream that writes at the position: bytes in every mode, strings too in
   * text mode. Closing it waits for the writes and leaves the file open.
   *
   * @example Pipe a stream into the file
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await asyncOpen(path, "w");
   * await ReadableStream.from(["Hello ", "world"]).pipeTo(afp.writable);
   * assert.equal(await Deno.readTextFile(path), "Hello world");
   * assert.equal(afp.closed, false);
   * ```
   */
  get writable(): WritableStream<D | Uint8Array> {
    return writableTo<D | Uint8Array>(
      (chunk) =>
        this.#write(() =>
          chunk instanceof Uint8Array
            ? chunk.slice()
            : fileAccess(this.file).encode(chunk)
        ),
      this.#signal,
    );
  }

  /**
   * What the file system says of the file, as `Deno.stat` reports it (see
   * `AIOFile.stat`), once the operations called before have run.
   *
   * @example The size after the writes called before
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await asyncOpen(await Deno.makeTempFile(), "w");
   * afp.write("12345"); // stat() runs after it
   * assert.equal((await afp.stat()).size, 5);
   * ```
   */
  stat(): Promise<Deno.FileInfo> {
    return this.#afterWrites(() => this.file.stat(), false);
  }

  /**
   * Makes the data written so far durable: `fdatasync(2)`, or `fsync(2)` with
   * `syncMetadata`.
   *
   * @example Make the writes durable
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await asyncOpen(path, "w");
   * afp.write("durable"); // flush() runs after it
   * await afp.flush();
   * assert.equal(await Deno.readTextFile(path), "durable");
   * ```
   */
  flush(syncMetadata = false): Promise<void> {
    return this.#afterWrites(
      () =>
        syncMetadata
          ? this.file.fsync(this.#options)
          : this.file.fdsync(this.#options),
      false,
    );
  }

  /**
   * Waits for the operations in flight, then closes the file. Idempotent.
   *
   * @example Close after the last write
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * const afp = await asyncOpen(path, "w");
   * await afp.write("last words");
   * await afp.close();
   * await assert.rejects(afp.write("more"), Deno.errors.BadResource);
   * assert.equal(await Deno.readTextFile(path), "last words");
   * ```
   */
  close(): Promise<void> {
    // Never refused because of the signal: it still syncs and closes.
    this.#closing ??= this.#afterWrites(() => this.file.close(), false, false);
    return this.#closing;
  }

  /**
   * Closes the file: `await using afp = await asyncOpen(...)`.
   *
   * @example Closed at the end of the block
   * ```ts
   * import { asyncOpen, type TextFileWrapper } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * let wrapper: TextFileWrapper<"w">;
   * {
   *   await using afp = await asyncOpen(await Deno.makeTempFile(), "w");
   *   wrapper = afp;
   * }
   * assert.equal(wrapper.closed, true);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Runs `task` after the operations issued before it and the writes in flight.
   * `moves`: whether it moves the position by an amount known only when it ends.
   * `cancellable`: whether the signal cancels it (all but `close`).
   */
  #afterWrites<T>(
    task: () => Promise<T>,
    moves = true,
    cancellable = true,
  ): Promise<T> {
    const signal = cancellable ? this.#signal : undefined;
    if (!this.#serial.busy) this.#planned = this.#position;
    if (moves) this.#planned = undefined;
    const run = async () => {
      if (this.#writes.size > 0) await Promise.allSettled(this.#writes);
      signal?.throwIfAborted();
      return task();
    };
    // On abort the operation rejects at once and gives up its turn (an
    // operation waiting for its turn is dropped): what it awaits is cancelled
    // and settles on its own, and only `close` may follow.
    return this.#serial.run(
      signal === undefined ? run : () => abortable(run(), signal),
      signal,
    );
  }

  /**
   * Writes what `encode` gives at the position. The bytes take their place at
   * once (or, behind a read in flight, as soon as it ends), so writes issued one
   * after another land one after another while they run concurrently. In append
   * modes the file puts each write at its end: there they go one at a time.
   */
  #write(encode: () => Uint8Array): Promise<number> {
    const signal = this.#signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let bytes: Uint8Array;
    try {
      bytes = encode();
    } catch (error) {
      return Promise.reject(error);
    }
    const start = (): Promise<number> => {
      // A stream is written where it is: past what was read of it.
      const offset = this.#position + (this.#held?.length ?? 0);
      this.#position += bytes.length;
      const written = fileAccess(this.file).write(bytes, offset, true, signal);
      const forget = () => this.#writes.delete(written);
      this.#writes.add(written);
      written.then(forget, forget);
      return written;
    };
    if (!this.#serial.busy) this.#planned = this.#position;
    if (this.#planned !== undefined) this.#planned += bytes.length;
    if (this.file.mode.appending) return this.#serial.run(start, signal);
    if (!this.#serial.busy) return start();
    let written!: Promise<number>;
    return this.#serial.run(() => {
      written = start();
      return Promise.resolve();
    }, signal).then(() => written);
  }

  /**
   * An iterator over what `take` reads from the reader `open` gives (made at the
   * first step, from the position then); the position follows each item.
   */
  #follow<R extends { readonly offset: number }>(
    open: () => R,
    take: (reader: R) => Promise<unknown>,
  ): AsyncIterableIterator<D> {
    const next = () =>
      this.#afterWrites(async (): Promise<IteratorResult<D>> => {
        const reader = open();
        const item = await take(reader) as D;
        if (item.length === 0) return { value: undefined, done: true };
        this.#position = reader.offset;
        return { value: item, done: false };
      });
    return {
      next,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * An iterator over what `next` gives, one item per step, until an empty one
   * (the end); the position follows each item (`next` moves it).
   */
  #each(next: () => Promise<D>): AsyncIterableIterator<D> {
    return {
      next: async (): Promise<IteratorResult<D>> => {
        const item = await next();
        return item.length === 0
          ? { value: undefined, done: true }
          : { value: item, done: false };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * A buffer for one read operation, holding what was read of a stream and
   * not consumed yet (nothing, for a file that can seek).
   */
  #gathered(): ByteBuffer {
    const buffer = new ByteBuffer();
    if (this.#held !== undefined && this.#held.length > 0) {
      buffer.append(this.#held);
      this.#held = new Uint8Array(0);
    }
    return buffer;
  }

  /**
   * Ends a read operation that consumed the first `end` bytes of `buffer`:
   * moves the position past them, and for a stream keeps the rest for the
   * next operation (a file that can seek reads it again).
   */
  #consumed(buffer: ByteBuffer, end: number): void {
    this.#position += end;
    if (this.#held !== undefined && end < buffer.length) {
      this.#held = buffer.memory.subarray(end, buffer.length);
    }
  }

  /**
   * The next bytes after those `buffer` holds, up to `want`, appended to it;
   * true at the end of the file. A file that can seek is read until `want`
   * bytes or the end (a short read is the end); a stream gives what it has
   * (only an empty read is the end).
   */
  async #pull(buffer: ByteBuffer, want: number): Promise<boolean> {
    const at = this.#position + buffer.length;
    if (this.#held === undefined) {
      const more = await this.file.readBytes(want, at, this.#options);
      buffer.append(more);
      return more.length < want;
    }
    const more = await fileAccess(this.file).readBytes(
      want,
      at,
      this.#signal,
    );
    buffer.append(more);
    return more.length === 0;
  }

  async #readBytes(length: number): Promise<Uint8Array> {
    if (this.#held === undefined) {
      const bytes = await this.file.readBytes(
        length,
        this.#position,
        this.#options,
      );
      this.#position += bytes.length;
      return bytes;
    }
    const buffer = this.#gathered();
    const wanted = length === -1 ? Infinity : length;
    let request = READLINE_FIRST_READ;
    while (buffer.length < wanted) {
      const want = Math.min(request, wanted - buffer.length);
      if (await this.#pull(buffer, want)) break;
      request = Math.min(2 * request, READLINE_MAX_READ);
    }
    const end = Math.min(wanted, buffer.length);
    const bytes = buffer.take(end);
    this.#consumed(buffer, end);
    return bytes;
  }

  async #readText(length: number): Promise<string> {
    const layout = this.#layout!;
    if (length === -1 && this.#held === undefined) {
      const bytes = await this.file.readBytes(
        -1,
        this.#position,
        this.#options,
      );
      const text = this.#decode(bytes);
      this.#position += bytes.length;
      return text;
    }
    // Characters are counted on from where the last round stopped, in bytes
    // gathered without copying them again for each read.
    const buffer = this.#gathered();
    const counted: CharProgress = { at: 0, seen: 0 };
    let atEnd = false;
    let end: number;
    for (;;) {
      end = length === -1 ? -1 : layout.resumeCharsEnd(
        buffer.memory,
        0,
        buffer.length,
        length,
        counted,
      );
      if (end !== -1) break;
      if (atEnd) {
        end = buffer.length;
        break;
      }
      // At least one unit per missing character: never reads past what is
      // needed (a stream may give fewer bytes than asked; never more).
      const missing = length === -1
        ? READLINE_MAX_READ
        : layout.unit * Math.max(1, length - counted.seen);
      atEnd = await this.#pull(buffer, missing);
    }
    const text = this.#decode(buffer.memory.subarray(0, end));
    this.#consumed(buffer, end);
    return text;
  }

  /**
   * Reads up to the separator, `size` (characters or bytes) or the end of the
   * file. Linear in the line's length: the bytes gather in a buffer that grows
   * geometrically, reads grow from 8 KiB to 1 MiB, and each round searches and
   * counts only the bytes it added.
   */
  async #readLine(size: number, separator: Uint8Array): Promise<D> {
    const layout = this.#layout;
    const unit = layout?.unit ?? 1;
    const buffer = this.#gathered();
    const counted: CharProgress = { at: 0, seen: 0 };
    let searched = 0;
    let request = READLINE_FIRST_READ;
    let atEnd = false;
    for (;;) {
      const bytes = buffer.memory;
      const length = buffer.length;
      let end = indexOfSeparator(bytes, separator, searched, length, 0, unit);
      if (end !== -1) end += separator.length;
      else if (atEnd) end = length;
      if (size !== -1) {
        const limit = layout === undefined
          ? (length >= size ? size : -1)
          : layout.resumeCharsEnd(bytes, 0, length, size, counted);
        if (limit !== -1 && (end === -1 || limit < end)) end = limit;
      }
      if (end !== -1) {
        const result = layout === undefined
          ? buffer.take(end)
          : this.#decode(bytes.subarray(0, end));
        this.#consumed(buffer, end);
        return result as D;
      }
      // A separator may start in the last bytes and end in the next read.
      searched = Math.max(0, length - separator.length + 1);
      searched -= searched % unit;
      // Read sizes stay multiples of the first (not cut to `size`), so that on
      // an O_DIRECT file, from an aligned position, every read is aligned.
      atEnd = await this.#pull(buffer, request);
      request = Math.min(2 * request, READLINE_MAX_READ);
    }
  }

  /**
   * For a stream: the next chunk of `chunkSize` bytes (fewer at the end), in
   * text mode extended to finish its last character, as `Reader` gives it.
   */
  async #readChunk(chunkSize: number): Promise<string | Uint8Array> {
    const layout = this.#layout;
    const buffer = this.#gathered();
    let atEnd = false;
    while (buffer.length < chunkSize && !atEnd) {
      atEnd = await this.#pull(buffer, chunkSize - buffer.length);
    }
    let end = Math.min(chunkSize, buffer.length);
    while (layout !== undefined && !atEnd) {
      const complete = layout.completeEnd(buffer.memory, 0, end);
      if (complete === end) break;
      const needed = complete +
        layout.charLength(buffer.memory, complete, buffer.length);
      if (needed <= buffer.length) {
        end = needed;
        break;
      }
      atEnd = await this.#pull(buffer, needed - buffer.length);
      end = Math.min(needed, buffer.length);
    }
    const result = layout === undefined
      ? buffer.take(end)
      : this.#decode(buffer.memory.subarray(0, end));
    this.#consumed(buffer, end);
    return result;
  }

  /**
   * `readable` for a stream: what was read of it and not consumed comes first,
   * then each read of the stream as it comes (nothing is read ahead).
   */
  #streamReadable(
    reads: ByteReadable,
  ): ReadableStream<Uint8Array<ArrayBuffer>> {
    const moved = (n: number) => this.#position += n;
    const held = (): Uint8Array | undefined => {
      const bytes = this.#held!;
      return bytes.length > 0 ? bytes : undefined;
    };
    return readableFrom({
      nextRead: (deliver) =>
        this.#afterWrites(async () => {
          const kept = held();
          let bytes: Uint8Array;
          if (kept !== undefined) {
            bytes = kept.slice();
            this.#held = new Uint8Array(0);
          } else {
            bytes = await reads.readBytes(
              STREAM_CHUNK_SIZE,
              this.#position,
              this.#signal,
            );
          }
          const n = bytes.length;
          if (deliver(bytes)) moved(n);
        }),
      readInto: (into, deliver) =>
        this.#afterWrites(async () => {
          const bytes = held();
          let n: number;
          if (bytes !== undefined) {
            n = Math.min(into.length, bytes.length);
            into.set(bytes.subarray(0, n));
            this.#held = bytes.subarray(n);
          } else {
            n = await reads.readInto(into, this.#position, this.#signal);
          }
          if (deliver(n)) moved(n);
        }),
    }, this.#signal);
  }

  #decode(bytes: Uint8Array): string {
    return this.#decoder!.decodeAt(bytes, this.name, this.#position);
  }
}

/**
 * A binary file with a position: reads give `Uint8Array`, writes take it.
 * {@linkcode asyncOpen} with a `b` mode returns one.
 *
 * @example Bytes in, bytes out
 * ```ts
 * import { asyncOpen, BinaryFileWrapper } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+b");
 * assert.ok(afp instanceof BinaryFileWrapper);
 * await afp.write(new Uint8Array([1, 2, 3, 10, 4]));
 * afp.seek(0);
 * assert.deepEqual(await afp.readLine(), new Uint8Array([1, 2, 3, 10]));
 * assert.deepEqual(await afp.read(), new Uint8Array([4]));
 * ```
 */
export class BinaryFileWrapper<M extends string = "rb">
  extends FileWrapper<Uint8Array, M> {
  /**
   * Wraps an open binary file.
   *
   * @param file An open `AIOFile` in a binary mode.
   * @param position The starting position in bytes.
   * @param options `signal`: cancels every operation but `close` (see
   * {@linkcode FileWrapper}'s constructor).
   * @throws {TypeError} for a file in a text mode.
   */
  constructor(
    file: AIOFile<M>,
    position = 0,
    options: OperationOptions = {},
  ) {
    if (!file.mode.binary) {
      throw new TypeError(
        `BinaryFileWrapper needs a binary mode, got "${file.mode.text}"`,
      );
    }
    super(file, position, options);
  }
}

/**
 * A text file with a position: reads give strings, writes take them; lengths
 * passed to `read` and `readLine` count characters, positions count bytes.
 * {@linkcode asyncOpen} with a mode without `b` returns one.
 *
 * @example Lengths in characters, positions in bytes
 * ```ts
 * import { asyncOpen, TextFileWrapper } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+");
 * assert.ok(afp instanceof TextFileWrapper);
 * await afp.write("héllo\nworld");
 * afp.seek(0);
 * assert.equal(await afp.read(2), "hé");
 * assert.equal(afp.tell(), 3);
 * assert.equal(await afp.readLine(), "llo\n");
 * ```
 */
export class TextFileWrapper<M extends string = "r">
  extends FileWrapper<string, M> {
  /**
   * The text encoding (canonical name).
   *
   * @example UTF-16LE, however it was spelled
   * ```ts
   * import { asyncOpen } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const options = { encoding: "UTF-16LE" };
   * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+", options);
   * assert.equal(afp.encoding, "utf-16le");
   * assert.equal(await afp.write("hi"), 4);
   * ```
   */
  readonly encoding: string;

  /**
   * Wraps an open text file.
   *
   * @param file An open `AIOFile` in a text mode.
   * @param position The starting position in bytes.
   * @param options `signal`: cancels every operation but `close` (see
   * {@linkcode FileWrapper}'s constructor).
   * @throws {TypeError} for a file in a binary mode, or an encoding that cannot
   * be streamed.
   */
  constructor(
    file: AIOFile<M>,
    position = 0,
    options: OperationOptions = {},
  ) {
    if (file.mode.binary) {
      throw new TypeError(
        `TextFileWrapper needs a text mode, got "${file.mode.text}"`,
      );
    }
    super(file, position, options);
    this.encoding = file.encoding;
  }
}
