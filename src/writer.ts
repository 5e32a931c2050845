/**
 * `Writer`: sequential writes from an offset.
 *
 * @module
 */

import { type AIOFile, type DataOf, fileInternals } from "./aiofile.ts";
import { Semaphore } from "./semaphore.ts";
import { checkNonNegative } from "./validate.ts";
import { WriteBehind } from "./write_behind.ts";

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
  /**
   * How many writes may still be in flight when {@linkcode Writer.write}
   * resolves (write-behind); 0 makes each call resolve once its data has
   * landed. Default 8.
   */
  writeBehind?: number;
}

/** Default {@linkcode WriterOptions.writeBehind}: 8 writes. */
export const DEFAULT_WRITE_BEHIND = 8;

/**
 * Writes data one piece after another from an offset, each piece where the
 * previous one ended.
 *
 * Each call takes its place when it is made, so calls that overlap land in call
 * order, and they run concurrently. Writes are pipelined (write-behind): a call
 * resolves as soon as its write is under way, while at most `writeBehind` writes
 * are in flight. No failure is lost: a write that fails rejects the next call to
 * {@linkcode write} or {@linkcode flush} (and every later one: the writer stops),
 * and, if the writer has not reported it yet, the file's next `fsync`, `fdsync`
 * or `close`. The file's `fsync` and `fdsync` wait for the writes issued before
 * them. In append modes the file places every write at its end, so there the
 * writes go one at a time, in call order.
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
 * await writer.flush(); // every write has landed
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
 * await afp.fsync(); // waits for the writes, then makes them durable
 * console.log(await afp.read()); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export class Writer<M extends string = "w"> {
  /** The file written. */
  readonly file: AIOFile<M>;
  readonly #serial: Semaphore | undefined;
  readonly #writeBehind: number;
  readonly #writes: WriteBehind;
  #offset: number;

  /**
   * Writes to `file` from `options.offset` on.
   *
   * @param file An `AIOFile` open for writing (or about to be).
   * @throws {TypeError|RangeError} for a bad option.
   */
  constructor(file: AIOFile<M>, options: WriterOptions = {}) {
    const { offset = 0, writeBehind = DEFAULT_WRITE_BEHIND } = options;
    this.file = file;
    this.#offset = checkNonNegative("offset", offset);
    this.#writeBehind = checkNonNegative("writeBehind", writeBehind);
    // A failure the writer has not reported yet is the file's to report.
    this.#writes = new WriteBehind(
      writeBehind,
      (error) => fileInternals.defer(file, error),
    );
    if (file.mode.appending) this.#serial = new Semaphore(1);
  }

  /** The byte offset where the next write will start. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Writes `data` (a string in text modes, bytes in binary modes) after the
   * previous write; resolves to the number of bytes, once the write is under way
   * (see the class's description of write-behind).
   */
  write(data: DataOf<M>): Promise<number> {
    if (this.#writes.failure !== undefined) return this.#report();
    let bytes: Uint8Array;
    let owned: boolean;
    try {
      ({ bytes, owned } = fileInternals.bytesOf(this.file, data));
    } catch (error) {
      return Promise.reject(error);
    }
    const offset = this.#offset;
    this.#offset += bytes.length;
    let written: Promise<number>;
    if (this.#serial === undefined) {
      // Binary data is copied only if it is not written before this returns.
      written = owned
        ? fileInternals.writeOwned(this.file, bytes, offset)
        : fileInternals.writeBorrowed(this.file, bytes, offset);
    } else {
      // Appends wait for each other: the caller's buffer cannot wait with them.
      const mine = owned ? bytes : bytes.slice();
      written = this.#serial.run(() =>
        fileInternals.writeOwned(this.file, mine, offset)
      );
    }
    if (this.#writeBehind === 0) return written;
    return this.#writes.add(written).then(
      () => bytes.length,
      () => this.#report(),
    );
  }

  /** Waits until every write has landed; rejects if one failed. */
  flush(): Promise<void> {
    return this.#writes.drain().catch(() => this.#report());
  }

  /** Rejects with the first failure, which the caller now knows of. */
  #report(): Promise<never> {
    const { error } = this.#writes.failure!;
    fileInternals.delivered(this.file, error);
    return Promise.reject(error);
  }
}
