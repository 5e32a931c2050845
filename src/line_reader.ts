/**
 * `LineReader`: a file's lines from an offset.
 *
 * @module
 */

import { type AIOFile, type DataOf, fileAccess } from "./aiofile.ts";
import { copyLines, indexOfSeparator, startsWith } from "./bytes.ts";
import { ChunkSource } from "./chunks.ts";
import { DEFAULT_READ_AHEAD_BYTES } from "./reader.ts";
import { Semaphore } from "../impl/shared/semaphore.ts";
import { signalOf } from "../impl/shared/abort.ts";
import { StrictDecoder } from "./strict_decoder.ts";
import { type TextLayout, textLayout } from "./text_layout.ts";
import { checkNonNegative, checkPositive, describeValue } from "./validate.ts";

/**
 * Default {@linkcode LineReaderOptions.chunkSize}: 64 KiB.
 *
 * @example Reads of 64 KiB; a line may span reads of any size
 * ```ts
 * import { AIOFile, DEFAULT_LINE_CHUNK_SIZE, LineReader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_LINE_CHUNK_SIZE, 64 * 1024);
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "a long line\n");
 * await using afp = await AIOFile.open(path);
 * const lines = new LineReader(afp, { chunkSize: 4 });
 * assert.equal(await lines.readLine(), "a long line\n");
 * ```
 */
export const DEFAULT_LINE_CHUNK_SIZE = 65536;

/**
 * Options for {@linkcode LineReader}.
 *
 * @example Windows line ends
 * ```ts
 * import { AIOFile, LineReader, type LineReaderOptions } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "one\r\ntwo\r\n");
 * await using afp = await AIOFile.open(path);
 * const options: LineReaderOptions = { lineSep: "\r\n", chunkSize: 4096 };
 * const lines = await Array.fromAsync(new LineReader(afp, options));
 * assert.deepEqual(lines, ["one\r\n", "two\r\n"]);
 * ```
 */
export interface LineReaderOptions {
  /** The byte offset of the first line. Default 0. */
  offset?: number;
  /** How many bytes are read at a time. Default 65536. */
  chunkSize?: number;
  /**
   * The line separator: any non-empty string (`"\n"`, `"\r\n"`, `";"`, `"§"`),
   * encoded in the file's encoding; bytes in binary mode too. Default `"\n"`.
   */
  lineSep?: string | Uint8Array;
  /**
   * How many bytes may be read ahead of the lines returned (0: none), as
   * in `ReaderOptions`. Default 2 MiB.
   */
  readAheadBytes?: number;
  /** Once it aborts, calls and iteration reject with its reason and reads in flight are cancelled. */
  signal?: AbortSignal;
}

/**
 * Reads a file line by line from an offset. Each line ends with its separator,
 * except perhaps the last one. Lines are found in the bytes and only the lines
 * returned are decoded, so reading a large text file costs little more than
 * reading its bytes.
 *
 * Any separator works, including multi-byte ones (`"\r\n"`, `"||"`, `"→"`), and a
 * character split between two chunks is decoded whole. Binary files give
 * `Uint8Array` lines (copies, each in memory of its own: yours to keep), text
 * files give strings, decoded strictly (invalid bytes reject with a
 * `TypeError`). Streaming text supports UTF-8, UTF-16 and single-byte
 * encodings.
 *
 * Calls to {@linkcode readLine} may overlap: they resolve to consecutive lines.
 *
 * With a `signal` in the options, once it aborts, {@linkcode readLine} and
 * each step of an iteration reject with `signal.reason` (at once, for a
 * signal aborted already: nothing is read), and the reads in flight are
 * cancelled.
 *
 * @example Iterate over lines
 * ```ts
 * import { AIOFile, LineReader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "one\ntwo\nthree");
 * await using afp = await AIOFile.open(path);
 * const lines = [];
 * for await (const line of new LineReader(afp)) lines.push(line);
 * assert.deepEqual(lines, ["one\n", "two\n", "three"]);
 * ```
 *
 * @example Any separator
 * ```ts
 * import { AIOFile, LineReader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "a;b;c");
 * await using afp = await AIOFile.open(path);
 * const lines = new LineReader(afp, { lineSep: ";" });
 * assert.equal(await lines.readLine(), "a;");
 * assert.equal(await lines.readLine(), "b;");
 * assert.equal(await lines.readLine(), "c");
 * assert.equal(await lines.readLine(), ""); // the end
 * ```
 *
 * @example Stop reading lines when a signal aborts
 * ```ts
 * import { AIOFile, LineReader } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "header\nrow 1\nrow 2\n");
 * await using afp = await AIOFile.open(path);
 * const controller = new AbortController();
 * const lines = new LineReader(afp, { signal: controller.signal });
 * assert.equal(await lines.readLine(), "header\n");
 * controller.abort(new Error("enough"));
 * await assert.rejects(lines.readLine(), /enough/);
 * assert.equal(afp.closed, false); // the file stays open and usable
 * assert.equal(await afp.read(5, 7), "row 1");
 * ```
 */
export class LineReader<M extends string = "r">
  implements AsyncIterable<DataOf<M>> {
  /** The file read. */
  readonly file: AIOFile<M>;
  readonly #source: ChunkSource;
  readonly #serial = new Semaphore(1);
  readonly #separator: Uint8Array;
  readonly #unit: number;
  readonly #decoder: StrictDecoder | undefined;
  /** Bytes read and not returned yet: `#buffer[#start, #end)`. */
  #buffer: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /** The last chunk appended to `#buffer`. */
  #lastChunk: Uint8Array = this.#buffer;
  /** No separator starts in `#buffer[#start, #searched)`. */
  #searched = 0;
  #atEnd = false;
  #offset: number;
  /** The separator as text (text modes). */
  readonly #lineSep: string | undefined;
  /**
   * Lines found ahead: the buffer's complete lines, decoded in one call in text
   * modes and copied in one pass in binary mode, handed out one by one.
   */
  #batch: (string | Uint8Array)[] = [];
  #batchNext = 0;
  /** The file offset after the last line of `#batch`. */
  #batchEnd = 0;
  /** How many lines of `#batch` `#offset` counts. */
  #measured = 0;
  readonly #layout: TextLayout | undefined;
  readonly #signal: AbortSignal | undefined;

  /**
   * Reads the lines of `file` from `options.offset`.
   *
   * @param file An `AIOFile` open for reading (or about to be).
   * @throws {TypeError|RangeError} for a bad option, a separator that the file's
   * encoding cannot express, or a text encoding that cannot be streamed.
   */
  constructor(file: AIOFile<M>, options: LineReaderOptions = {}) {
    const {
      offset = 0,
      chunkSize = DEFAULT_LINE_CHUNK_SIZE,
      lineSep = "\n",
      readAheadBytes = DEFAULT_READ_AHEAD_BYTES,
    } = options;
    this.file = file;
    this.#offset = checkNonNegative("offset", offset);
    checkPositive("chunkSize", chunkSize);
    checkNonNegative("readAheadBytes", readAheadBytes);
    this.#signal = signalOf(options);
    const layout = file.mode.binary ? undefined : textLayout(file.encoding);
    this.#separator = encodeSeparator(lineSep, layout?.encode);
    this.#unit = layout?.unit ?? 1;
    this.#layout = layout;
    if (layout !== undefined) {
      this.#lineSep = lineSep as string;
      this.#decoder = new StrictDecoder(file.encoding);
    }
    this.#source = new ChunkSource(
      fileAccess(file),
      offset,
      chunkSize,
      readAheadBytes,
      // Chunks never leave: lines are decoded, or copied in binary mode, and
      // `#append` copies what it keeps of a chunk before the next one.
      "borrowed",
      this.#signal,
    );
  }

  /**
   * The byte offset right after the lines returned so far.
   *
   * @example Go on later from where the lines stopped
   * ```ts
   * import { AIOFile, LineReader } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "é\nz\n");
   * await using afp = await AIOFile.open(path);
   * const lines = new LineReader(afp);
   * assert.equal(await lines.readLine(), "é\n");
   * assert.equal(lines.offset, 3); // bytes
   * const rest = new LineReader(afp, { offset: lines.offset });
   * assert.equal(await rest.readLine(), "z\n");
   * ```
   */
  get offset(): number {
    // Lines decoded in a batch are measured only when asked.
    while (this.#measured < this.#batchNext) {
      const line = this.#batch[this.#measured++];
      this.#offset += typeof line === "string"
        ? this.#layout!.byteLength(line)
        : line.length;
    }
    return this.#offset;
  }

  /**
   * The next line, with its separator; `""` (or empty bytes) at the end of the file.
   *
   * @example Lines of bytes
   * ```ts
   * import { AIOFile, LineReader } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "a\nb");
   * await using afp = await AIOFile.open(path, "rb");
   * const lines = new LineReader(afp);
   * assert.deepEqual(await lines.readLine(), new Uint8Array([0x61, 0x0a]));
   * assert.deepEqual(await lines.readLine(), new Uint8Array([0x62]));
   * assert.equal((await lines.readLine()).length, 0); // the end
   * ```
   */
  readLine(): Promise<DataOf<M>> {
    const signal = this.#signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#serial.busy) {
      // The usual case: the line is already decoded, or in the buffer.
      try {
        const line = this.#nextInBuffer();
        if (line !== undefined) return Promise.resolve(line as DataOf<M>);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#serial.run(
      () => this.#readLine(),
      signal,
    ) as Promise<DataOf<M>>;
  }

  /**
   * The lines up to the end of the file.
   *
   * @example Count the lines of a file
   * ```ts
   * import { AIOFile, LineReader } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "x\n".repeat(1000));
   * await using afp = await AIOFile.open(path);
   * let count = 0;
   * for await (const _line of new LineReader(afp)) count++;
   * assert.equal(count, 1000);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<DataOf<M>> {
    const result = (line: DataOf<M>): IteratorResult<DataOf<M>> =>
      line.length === 0
        ? { value: undefined, done: true }
        : { value: line, done: false };
    return {
      next: (): Promise<IteratorResult<DataOf<M>>> => {
        if (
          this.#batchNext < this.#batch.length && !this.#serial.busy &&
          !this.#signal?.aborted
        ) {
          // One promise per line on the hot path.
          return Promise.resolve({
            value: this.#batch[this.#batchNext++] as DataOf<M>,
            done: false,
          });
        }
        return this.readLine().then(result);
      },
    };
  }

  async #readLine(): Promise<string | Uint8Array> {
    for (;;) {
      const line = this.#nextInBuffer();
      if (line !== undefined) return line;
      if (this.#atEnd) {
        this.#atEnd = false; // The file may grow: the next call reads again.
        return this.#take(this.#end);
      }
      const chunk = await this.#source.next();
      if (chunk.length === 0) this.#atEnd = true;
      else this.#append(chunk);
    }
  }

  /** The next line if the buffer holds all of it, else undefined. */
  #nextInBuffer(): string | Uint8Array | undefined {
    if (this.#batchNext < this.#batch.length) {
      return this.#batch[this.#batchNext++];
    }
    this.#endBatch();
    if (this.#decoder === undefined) {
      return this.#copyBatch() ? this.#batch[this.#batchNext++] : undefined;
    }
    if (this.#decodeBatch()) return this.#batch[this.#batchNext++];
    const end = this.#lineEnd();
    return end === -1 ? undefined : this.#take(end);
  }

  /** Forgets the lines of the last batch, all returned: the offset is after them. */
  #endBatch(): void {
    if (this.#batch.length === 0) return;
    this.#offset = this.#batchEnd;
    this.#batch = [];
    this.#batchNext = this.#measured = 0;
  }

  /**
   * Decodes every complete line in the buffer in one call, into `#batch`. False
   * when there is none, or when the bytes are not valid text (then lines are
   * decoded one at a time, so that those before the bad one are still read).
   */
  #decodeBatch(): boolean {
    const end = this.#lastEnd();
    if (end === -1) return false;
    let text: string;
    try {
      text = this.#decoder!.decode(this.#buffer.subarray(this.#start, end));
    } catch {
      return false;
    }
    const separator = this.#lineSep!;
    const lines: string[] = [];
    let from = 0;
    for (let at; (at = text.indexOf(separator, from)) !== -1;) {
      lines.push(text.slice(from, from = at + separator.length));
    }
    if (lines.length === 0) return false;
    // Overlapping separators ("|||" for "||") can make the last match found from
    // the end differ from the one found from the start: keep what follows it.
    const complete = from === text.length
      ? end
      : end - this.#layout!.byteLength(text.slice(from));
    this.#batch = lines;
    this.#batchEnd = this.#offset + complete - this.#start;
    this.#start = this.#searched = complete;
    return true;
  }

  /**
   * Copies every complete line in the buffer into `#batch` (binary mode), each
   * into memory of its own. False when there is none.
   */
  #copyBatch(): boolean {
    const buffer = this.#buffer;
    const start = this.#start;
    const lines: Uint8Array[] = [];
    const rest = copyLines(
      buffer,
      this.#separator,
      start,
      this.#searched,
      this.#end,
      lines,
    );
    if (lines.length === 0) {
      // A separator may start in the last bytes and end in the next chunk.
      this.#searched = Math.max(start, this.#end - this.#separator.length + 1);
      return false;
    }
    this.#batch = lines;
    this.#batchEnd = this.#offset + rest - start;
    this.#start = this.#searched = rest;
    return true;
  }

  /** The end of the last separator in the buffer, or -1. */
  #lastEnd(): number {
    const separator = this.#separator;
    const buffer = this.#buffer;
    const from = this.#searched;
    // Searched from `from` on only: a long line must not be scanned again for
    // each chunk it spans.
    const searched = buffer.subarray(from, this.#end);
    for (let at = this.#end - separator.length; at >= from;) {
      at = from + searched.lastIndexOf(separator[0], at - from);
      if (at < from) break;
      if (
        (at - this.#start) % this.#unit === 0 &&
        startsWith(buffer, at, separator)
      ) {
        return at + separator.length;
      }
      at--;
    }
    return -1;
  }

  /** The end of the next line in the buffer (after its separator), or -1. */
  #lineEnd(): number {
    const separator = this.#separator;
    const at = indexOfSeparator(
      this.#buffer,
      separator,
      this.#searched,
      this.#end,
      this.#start,
      this.#unit,
    );
    if (at !== -1) return at + separator.length;
    // A separator may start in the last bytes and end in the next chunk.
    this.#searched = Math.max(this.#start, this.#end - separator.length + 1);
    return -1;
  }

  /** Returns the bytes up to `end` as a line, and moves past them. */
  #take(end: number): string | Uint8Array {
    const start = this.#start;
    const bytes = this.#buffer.subarray(start, end);
    let line: string | Uint8Array;
    if (this.#decoder === undefined) {
      line = bytes.slice();
    } else {
      line = this.#decoder.decodeAt(bytes, this.file.name, this.#offset);
    }
    this.#start = this.#searched = end;
    this.#offset += end - start;
    return line;
  }

  /**
   * Adds a chunk after the bytes not returned yet; grows the buffer
   * geometrically. Chunks are borrowed (`ChunkOwnership`): when this one
   * starts a new read, what is kept of the last read is copied here, before
   * the next chunk is asked for and that read's buffer may be read into again.
   */
  #append(chunk: Uint8Array): void {
    const last = this.#lastChunk;
    this.#lastChunk = chunk;
    const kept = this.#end - this.#start;
    if (kept === 0) {
      this.#buffer = chunk;
      this.#start = this.#searched = 0;
      this.#end = chunk.length;
      return;
    }
    if (
      kept <= last.length && chunk.buffer === last.buffer &&
      chunk.byteOffset === last.byteOffset + last.length
    ) {
      // The kept bytes end the last chunk, and this one follows it in the same
      // read (chunks read together are views of one buffer): a wider view of
      // that buffer joins them without a copy.
      this.#buffer = new Uint8Array(
        chunk.buffer,
        chunk.byteOffset - kept,
        kept + chunk.length,
      );
      this.#searched -= this.#start;
      this.#start = 0;
      this.#end = this.#buffer.length;
      return;
    }
    if (this.#buffer.length - this.#end < chunk.length) {
      const bigger = new Uint8Array(Math.max(kept + chunk.length, kept * 2));
      bigger.set(this.#buffer.subarray(this.#start, this.#end));
      this.#searched -= this.#start;
      this.#buffer = bigger;
      this.#start = 0;
      this.#end = kept;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}

const utf8 = new TextEncoder();

/** A separator as bytes; `encode` is the text encoding's, or UTF-8 for binary files. */
export function encodeSeparator(
  separator: unknown,
  encode: ((text: string) => Uint8Array) | undefined,
  name = "lineSep",
): Uint8Array {
  let bytes: Uint8Array;
  if (typeof separator === "string") {
    bytes = (encode ?? ((text: string) => utf8.encode(text)))(separator);
  } else if (separator instanceof Uint8Array && encode === undefined) {
    bytes = separator.slice();
  } else {
    throw new TypeError(
      `${name} must be a string${
        encode === undefined ? " or a Uint8Array" : ""
      }, got ${describeValue(separator)}`,
    );
  }
  if (bytes.length === 0) throw new RangeError(`${name} must not be empty`);
  return bytes;
}
