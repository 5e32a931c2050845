/**
 * `Writer`: sequential writes from an offset.
 *
 * @module
 */

import { type AIOFile, type DataOf, fileAccess } from "./aiofile.ts";
import { checkNonNegative } from "./validate.ts";
import { signalOf } from "../impl/shared/abort.ts";
import { WriteBehind } from "./write_behind.ts";

/**
 * Options for {@linkcode Writer}.
 *
 * @example Write from an offset
 * ```ts
 * import { AIOFile, Writer, type WriterOptions } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "Hello, _____!");
 * await using afp = await AIOFile.open(path, "r+");
 * const options: WriterOptions = { offset: 7 };
 * await new Writer(afp, options).write("world");
 * assert.equal(await Deno.readTextFile(path), "Hello, world!");
 * ```
 */
export interface WriterOptions {
  /** The byte offset of the first write. Default 0. */
  offset?: number;
  /**
   * Write-behind: how many writes may still be in flight when
   * {@linkcode Writer.write} resolves. Default 0: each call resolves once its
   * bytes have landed in the file.
   */
  writeBehind?: number;
  /** Once it aborts, calls reject with its reason and writes not landed yet are cancelled. */
  signal?: AbortSignal;
}

/**
 * Default {@linkcode WriterOptions.writeBehind}: 0, every `write` resolves once
 * its bytes have landed.
 *
 * @example No write-behind unless asked for
 * ```ts
 * import { AIOFile, DEFAULT_WRITE_BEHIND, Writer } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await using afp = await AIOFile.open(path, "w");
 * assert.equal(DEFAULT_WRITE_BEHIND, 0);
 * await new Writer(afp).write("landed");
 * // Resolved: the bytes are in the file, for every reader.
 * assert.equal(await Deno.readTextFile(path), "landed");
 * ```
 */
export const DEFAULT_WRITE_BEHIND = 0;

/**
 * Writes data one piece after another from an offset, each piece where the
 * previous one ended.
 *
 * `await writer.write(x)` resolves once `x` has landed in the file (a read, or
 * another process, sees it), as in Python's aiofile. Each call takes its place
 * when it is made, so calls that overlap land in call order, and they run
 * concurrently (in append modes the file lands writes one after another, in
 * call order). The file's `fsync`, `fdsync` and `close` include every write a
 * `Writer` has accepted, whether or not its caller awaited it.
 *
 * Write-behind is there for those who ask (`{ writeBehind: n }`): a call then
 * resolves as soon as its write is under way, while at most `n` writes are in
 * flight. No failure is lost: a write that fails rejects the next call to
 * {@linkcode write} or {@linkcode flush} (and every later one: the writer
 * stops), and, if the writer has not reported it yet, the file's next
 * `fsync`, `fdsync` or `close`.
 *
 * With a `signal` in the options, once it aborts, {@linkcode write} and
 * {@linkcode flush} reject with `signal.reason` (at once, for a signal aborted
 * already: nothing is written), and the writes in flight are cancelled: each
 * one either lands and resolves, or rejects and lands no more (it may have
 * landed in part). With write-behind, a call still pending then resolves
 * only if its write lands, and a cancelled write whose call had resolved
 * already is a failure as above: reported by the next `write` or `flush`, or
 * else by the file's next `fsync`, `fdsync` or `close` (which still closes
 * the file).
 *
 * @example Write pieces, then read them back
 * ```ts
 * import { AIOFile, Writer } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+");
 * const writer = new Writer(afp);
 * await writer.write("Hello");
 * await writer.write(" ");
 * await writer.write("World");
 * assert.equal(await afp.read(), "Hello World"); // every write has landed
 * ```
 *
 * @example Write-behind, then one flush
 * ```ts
 * import { AIOFile, Writer } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+b");
 * const writer = new Writer(afp, { writeBehind: 8 });
 * for (const n of [1, 2, 3]) await writer.write(new Uint8Array([n]));
 * await writer.flush(); // waits until every write has landed
 * assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3]));
 * ```
 */
export class Writer<M extends string = "w"> {
  /** The file written. */
  readonly file: AIOFile<M>;
  /** Write-behind, when asked for. */
  readonly #writes: WriteBehind | undefined;
  /** Without write-behind: the writes in flight, for {@linkcode flush}. */
  readonly #inFlight = new Set<Promise<number>>();
  readonly #signal: AbortSignal | undefined;
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
    this.#signal = signalOf(options);
    if (checkNonNegative("writeBehind", writeBehind) > 0) {
      // A failure the writer has not reported yet is the file's to report.
      this.#writes = new WriteBehind(
        writeBehind,
        (error) => fileAccess(file).defer(error),
      );
    }
  }

  /**
   * The byte offset where the next write will start.
   *
   * @example A write takes its place when it is called
   * ```ts
   * import { AIOFile, Writer } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w");
   * const writer = new Writer(afp, { offset: 10 });
   * const written = writer.write("abc");
   * assert.equal(writer.offset, 13);
   * assert.equal(await written, 3);
   * ```
   */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Writes `data` (a string in text modes, bytes in binary modes) after the
   * previous write; resolves to the number of bytes once they have landed
   * (with write-behind, once the write is under way).
   *
   * @example Each write has landed when it resolves
   * ```ts
   * import { AIOFile, Writer } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await AIOFile.open(path, "a");
   * const writer = new Writer(afp);
   * assert.equal(await writer.write("one\n"), 4);
   * assert.equal(await Deno.readTextFile(path), "one\n"); // already there
   * ```
   */
  write(data: DataOf<M>): Promise<number> {
    const writes = this.#writes;
    if (writes?.failure !== undefined) return this.#report(writes);
    const signal = this.#signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let bytes: Uint8Array;
    let owned: boolean;
    try {
      ({ bytes, owned } = fileAccess(this.file).bytesOf(data));
    } catch (error) {
      return Promise.reject(error);
    }
    const offset = this.#offset;
    this.#offset += bytes.length;
    // The file takes the write now (its close and syncs wait for it); binary
    // data is copied only if it is not written before this returns.
    const written = fileAccess(this.file).write(bytes, offset, owned, signal);
    if (writes === undefined) {
      const forget = () => this.#inFlight.delete(written);
      this.#inFlight.add(written);
      written.then(forget, forget);
      return written;
    }
    return writes.add(written).then(
      // Once the signal has aborted, "under way" means nothing: the call
      // resolves only if its write lands, as without write-behind.
      () =>
        signal?.aborted
          ? written.catch(() => this.#report(writes))
          : bytes.length,
      () => this.#report(writes),
    );
  }

  /**
   * Waits until every write made so far has landed (or failed: without
   * write-behind each failure goes to its own caller); with write-behind,
   * rejects if one failed.
   *
   * @example Wait for writes not awaited
   * ```ts
   * import { AIOFile, Writer } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await AIOFile.open(path, "w");
   * const writer = new Writer(afp);
   * const writes = ["a", "b", "c"].map((piece) => writer.write(piece));
   * await writer.flush();
   * assert.equal(await Deno.readTextFile(path), "abc");
   * assert.deepEqual(await Promise.all(writes), [1, 1, 1]);
   * ```
   */
  async flush(): Promise<void> {
    const writes = this.#writes;
    if (writes === undefined) await Promise.allSettled(this.#inFlight);
    else await writes.drain().catch(() => this.#report(writes));
    // After the writes settled: nothing lands once this has rejected.
    this.#signal?.throwIfAborted();
  }

  /** Rejects with the first failure, which the caller now knows of. */
  #report(writes: WriteBehind): Promise<never> {
    const { error } = writes.failure!;
    fileAccess(this.file).delivered(error);
    return Promise.reject(error);
  }
}
