/**
 * `Writer`: sequential writes from an offset.
 *
 * @module
 */

import { type AIOFile, type DataOf, fileInternals } from "./aiofile.ts";
import { Serial } from "./serial.ts";
import { checkNonNegative } from "./validate.ts";

/**
 * Options for {@linkcode Writer}.
 *
 * @example
 * ```ts
 * import type { WriterOptions } from "@aiofile/aiofile";
 * const options: WriterOptions = { offset: 1024 };
 * console.log(options.offset);
 * ```
 */
export interface WriterOptions {
  /** The byte offset of the first write. Default 0. */
  offset?: number;
}

/**
 * Writes data one piece after another from an offset, each piece where the
 * previous one ended.
 *
 * Each call takes its place when it is made, so calls that overlap land in call
 * order, and they run concurrently. Each call's promise reports that write's
 * own outcome; a failed write is never dropped. In append modes the file places
 * every write at its end, so there the writes go one at a time, in call order.
 *
 * @example Write pieces, then read them back
 * ```ts
 * import { AIOFile, Writer } from "@aiofile/aiofile";
 *
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+");
 * const writer = new Writer(afp);
 * await writer.write("Hello");
 * await writer.write(" ");
 * await writer.write("World");
 * console.log(await afp.read()); // "Hello World"
 * ```
 *
 * @example Many writes in flight at once
 * ```ts
 * import { AIOFile, Writer } from "@aiofile/aiofile";
 *
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+b");
 * const writer = new Writer(afp);
 * await Promise.all([1, 2, 3].map((n) => writer.write(new Uint8Array([n]))));
 * console.log(await afp.read()); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export class Writer<M extends string = "w"> {
  /** The file written. */
  readonly file: AIOFile<M>;
  readonly #serial: Serial | undefined;
  #offset: number;

  /**
   * Writes to `file` from `options.offset` on.
   *
   * @param file An `AIOFile` open for writing (or about to be).
   * @throws {TypeError|RangeError} for a bad offset.
   */
  constructor(file: AIOFile<M>, options: WriterOptions = {}) {
    const { offset = 0 } = options;
    this.file = file;
    this.#offset = checkNonNegative("offset", offset);
    if (file.mode.appending) this.#serial = new Serial();
  }

  /** The byte offset where the next write will start. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Writes `data` (a string in text modes, bytes in binary modes) after the
   * previous write; resolves to the number of bytes written.
   */
  write(data: DataOf<M>): Promise<number> {
    let bytes: Uint8Array;
    try {
      bytes = fileInternals.encode(this.file, data);
    } catch (error) {
      return Promise.reject(error);
    }
    const offset = this.#offset;
    this.#offset += bytes.length;
    const write = () => fileInternals.writeOwned(this.file, bytes, offset);
    return this.#serial === undefined ? write() : this.#serial.run(write);
  }
}
