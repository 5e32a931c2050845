/**
 * `AIOFile`: positional file I/O with no file pointer.
 *
 * @module
 */

import type { BackendName, OpenTarget } from "../impl/backend.ts";
import {
  type Context,
  type ContextAccess,
  contextAccess,
  defaultContext,
} from "./context.ts";
import { type TextCodec, textCodec } from "./encoding.ts";
import { normalizeError, notOpen } from "../impl/shared/errors.ts";
import { signalOf } from "../impl/shared/abort.ts";
import type { FileAccess } from "./file_access.ts";
import { type FileMode, openFlags, parseMode } from "./mode.ts";
import { OpenFile } from "./open_file.ts";
import {
  asBytes,
  checkNonNegative,
  checkSize,
  describeValue,
} from "./validate.ts";

/**
 * The data type of a mode: `Uint8Array` for binary modes (with `b`), `string`
 * for text modes, either when the mode is not a literal.
 *
 * @example The data type follows the mode
 * ```ts
 * import { AIOFile, type DataOf } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hi");
 * await using binary = await AIOFile.open(path, "rb");
 * const bytes: DataOf<"rb"> = await binary.read();
 * assert.deepEqual(bytes, new Uint8Array([0x68, 0x69]));
 * await using text = await AIOFile.open(path, "r");
 * const string: DataOf<"r"> = await text.read();
 * assert.equal(string, "hi");
 * ```
 */
export type DataOf<M extends string> = string extends M ? string | Uint8Array
  : M extends `${string}b${string}` ? Uint8Array
  : string;

/**
 * The last, optional argument of `AIOFile`'s reads, writes, syncs and
 * `truncate`.
 *
 * `signal` cancels the operation. An operation whose signal is aborted
 * already rejects at once with `signal.reason` and does nothing. When it
 * aborts later, a request still waiting for its turn is dropped; one in the
 * kernel is cancelled there where the backend can (`IORING_OP_ASYNC_CANCEL`
 * on `uring`, the wait on a pipe or FIFO on every FFI backend). A read or a
 * sync rejects at once, and the library keeps its memory until the kernel is
 * done with it; a write or `truncate` rejects once the kernel is done with it,
 * so it never lands after its promise rejected (it may have landed in part).
 * The file stays usable.
 *
 * @example Give up on a read that waits too long
 * ```ts
 * import { AIOFile } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "data");
 * await using afp = await AIOFile.open(path, "r");
 * const signal = AbortSignal.timeout(10_000);
 * assert.equal(await afp.read(-1, 0, { signal }), "data");
 * const aborted = AbortSignal.abort(new Error("too late"));
 * await assert.rejects(afp.read(-1, 0, { signal: aborted }), /too late/);
 * ```
 */
export interface OperationOptions {
  /** Aborts the operation (see {@linkcode OperationOptions}). */
  signal?: AbortSignal;
}

/**
 * Options for {@linkcode AIOFile}.
 *
 * @example Text in UTF-16LE
 * ```ts
 * import { AIOFile, type AIOFileOptions } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const options: AIOFileOptions = { encoding: "utf-16le" };
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+", options);
 * assert.equal(await afp.write("hi"), 4); // two bytes a character
 * assert.equal(await afp.read(), "hi");
 * assert.equal(afp.encoding, "utf-16le");
 * ```
 */
export interface AIOFileOptions {
  /** The text encoding of text modes. Default `"utf-8"`; writing supports `"utf-8"` and `"utf-16le"`. */
  encoding?: string;
  /** The context whose backends serve the file. Default: {@linkcode defaultContext}. */
  context?: Context;
  /** Open with `O_DIRECT` (Linux), bypassing the page cache. */
  direct?: boolean;
}

type State = "new" | "opening" | "open" | "closing" | "closed";

/**
 * A path as it is, unless it holds a NUL byte: the system would read it only up
 * to there (and `a\0/../b` names another file to a lexical reader).
 */
function withoutNul(path: string): string {
  if (path.includes("\0")) {
    throw new TypeError(
      `path must not contain a NUL byte, got ${JSON.stringify(path)}`,
    );
  }
  return path;
}

function pathOf(file: string | URL): string {
  if (typeof file === "string") {
    if (file === "") throw new TypeError("path must not be empty");
    return withoutNul(file);
  }
  if (file instanceof URL) {
    if (file.protocol !== "file:") {
      throw new TypeError(`path must be a file: URL, got ${file.href}`);
    }
    return withoutNul(decodeURIComponent(file.pathname));
  }
  throw new TypeError(
    `path must be a string or a file: URL, got ${describeValue(file)}`,
  );
}

/**
 * A file for positional asynchronous I/O. There is no file pointer: every read
 * and write names its offset, so any number of them may be in flight on one file
 * at once, each behaving as `pread(2)`/`pwrite(2)` would.
 *
 * The type parameter is the mode literal: `AIOFile<"rb">` reads and writes
 * `Uint8Array`, `AIOFile<"r">` reads and writes `string`.
 *
 * @example Write at offsets concurrently, then read back
 * ```ts
 * import { AIOFile } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await using afp = await AIOFile.open(path, "w+");
 * const line = "Hello world\n";
 * await Promise.all(
 *   Array.from({ length: 10 }, (_, i) => afp.write(line, i * line.length)),
 * );
 * await afp.fsync();
 * assert.equal(await afp.read(line.length * 10), line.repeat(10));
 * ```
 *
 * @example Without `await using`
 * ```ts
 * import { AIOFile } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const afp = new AIOFile(await Deno.makeTempFile(), "w+b");
 * await afp.open();
 * await afp.write(new Uint8Array([1, 2, 3]), 0);
 * assert.deepEqual(await afp.read(2, 1), new Uint8Array([2, 3]));
 * await afp.close();
 * ```
 */
export class AIOFile<M extends string = "r"> implements AsyncDisposable {
  /**
   * The path (or `<Deno.FsFile>` for a file handle passed in).
   *
   * @example A path, from a `file:` URL too
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const dir = await Deno.makeTempDir();
   * const afp = new AIOFile(new URL(`file://${dir}/my%20notes.txt`), "w");
   * assert.equal(afp.name, `${dir}/my notes.txt`);
   * ```
   */
  readonly name: string;
  /** The parsed mode. */
  readonly mode: FileMode;
  /** The text encoding (canonical name); `"utf-8"` in binary modes too. */
  readonly encoding: string;
  readonly #codec: TextCodec | undefined;
  readonly #context: Context | undefined;
  readonly #target: OpenTarget;
  #state: State = "new";
  #opening: Promise<this> | undefined;
  #closing: Promise<void> | undefined;
  /** The context that opened the file (or is opening it). */
  #owner: ContextAccess | undefined;
  #backend: BackendName | undefined;
  /** The open file's I/O, while open. */
  #io: OpenFile | undefined;

  /**
   * Describes a file; {@linkcode open} opens it.
   *
   * @param file A path, a `file:` URL, or an open `Deno.FsFile` (served by the
   * `deno` backend and never closed by this object).
   * @param mode A Python-style mode: `r`, `w`, `a` or `x`, optionally `+` and `b`.
   * @throws {TypeError} for an invalid mode, path or encoding.
   */
  constructor(
    file: string | URL | Deno.FsFile,
    mode: M = "r" as M,
    options: AIOFileOptions = {},
  ) {
    this.mode = parseMode(mode);
    const { encoding, context, direct = false } = options;
    if (this.mode.binary && encoding !== undefined) {
      throw new TypeError(
        `Binary mode "${mode}" takes no encoding, got ${
          describeValue(encoding)
        }`,
      );
    }
    if (typeof direct !== "boolean") {
      throw new TypeError(
        `direct must be a boolean, got ${describeValue(direct)}`,
      );
    }
    const codec = textCodec(encoding ?? "utf-8", this.mode.writable);
    this.#codec = this.mode.binary ? undefined : codec;
    this.encoding = codec.encoding;
    this.#context = context;
    const flags = openFlags(this.mode, direct);
    if (file instanceof Deno.FsFile) {
      this.name = "<Deno.FsFile>";
      this.#target = { kind: "fsfile", file, name: this.name, flags };
    } else {
      this.name = pathOf(file);
      this.#target = { kind: "path", path: this.name, flags };
    }
    ACCESS.set(this, this.#access());
  }

  /**
   * Makes and opens a file in one step.
   *
   * @example Open a file in one step
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "r+b");
   * assert.equal(afp.closed, false);
   * assert.equal(afp.mode.binary, true);
   * await assert.rejects(AIOFile.open("/no/such/file"), Deno.errors.NotFound);
   * ```
   */
  static open<M extends string = "r">(
    file: string | URL | Deno.FsFile,
    mode?: M,
    options?: AIOFileOptions,
  ): Promise<AIOFile<M>> {
    try {
      return new AIOFile<M>(file, mode, options).open();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * True before {@linkcode open} has finished, and after {@linkcode close}.
   *
   * @example Closed before open and after close
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const afp = new AIOFile(await Deno.makeTempFile(), "r");
   * assert.equal(afp.closed, true);
   * await afp.open();
   * assert.equal(afp.closed, false);
   * await afp.close();
   * assert.equal(afp.closed, true);
   * ```
   */
  get closed(): boolean {
    return this.#state !== "open";
  }

  /**
   * The backend serving this file (`"uring"`, `"linux"`, `"thread"`,
   * `"deno"`), once open.
   *
   * @example The backend the context chose
   * ```ts
   * import { AIOFile, createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using context = createContext({ backend: "deno" });
   * const afp = new AIOFile(await Deno.makeTempFile(), "r", { context });
   * assert.equal(afp.backend, undefined); // not open yet
   * await afp.open();
   * assert.equal(afp.backend, "deno");
   * await afp.close();
   * ```
   */
  get backend(): BackendName | undefined {
    return this.#backend;
  }

  /**
   * False once open for a file that cannot seek: a pipe, a FIFO, a terminal,
   * `/dev/stdin`. Such a file is read and written in call order at its own
   * position, which counts the bytes read and written so far: every read and
   * write must name that position as its offset (`Deno.errors.NotSupported`
   * otherwise). True for every other file, and before open.
   *
   * @example A regular file can seek
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "r");
   * assert.equal(afp.seekable, true);
   * ```
   */
  get seekable(): boolean {
    return this.#io?.seekable ?? true;
  }

  /**
   * Opens the file. Calling it again while open or opening returns the same
   * promise; after {@linkcode close} it rejects with `Deno.errors.BadResource`.
   *
   * @example Describe, then open
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const afp = new AIOFile(await Deno.makeTempFile(), "r");
   * const opening = afp.open();
   * assert.equal(afp.open(), opening); // opened once
   * assert.equal(await opening, afp);
   * await afp.close();
   * await assert.rejects(afp.open(), Deno.errors.BadResource);
   * ```
   */
  open(): Promise<this> {
    if (this.#state === "closing" || this.#state === "closed") {
      return Promise.reject(notOpen(this.name, "closed"));
    }
    this.#opening ??= this.#open();
    return this.#opening;
  }

  async #open(): Promise<this> {
    this.#state = "opening";
    try {
      const context = this.#context ?? defaultContext();
      const access = contextAccess(context);
      this.#owner = access;
      const { backend, file } = await access.open(this.#target);
      this.#io = new OpenFile(this.name, file, access, this.mode.appending);
      this.#backend = backend;
      if (this.#state === "opening") this.#state = "open";
      return this;
    } catch (error) {
      this.#state = "new";
      this.#opening = undefined;
      throw normalizeError(error, "open", this.name);
    }
  }

  /**
   * Reads `size` bytes at `offset`: exactly `size` unless the end of the file
   * comes first; `size = -1` reads to the end (files whose reported size is 0,
   * such as those in `/proc`, included). Text modes decode strictly: a range that
   * cuts a character rejects with a `TypeError`.
   *
   * A binary result owns its memory: its `byteOffset` is 0 and its `buffer`
   * holds exactly its bytes, shared with nothing else. To read into memory you
   * already have, without allocating, use {@linkcode readInto}.
   *
   * @example Read a range, or the whole file
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "Hello world");
   * await using afp = await AIOFile.open(path, "rb");
   * const bytes = await afp.read(5, 6);
   * assert.equal(new TextDecoder().decode(bytes), "world");
   * assert.equal(bytes.buffer.byteLength, 5); // its own memory
   * assert.equal((await afp.read()).length, 11);
   * ```
   */
  read(
    size = -1,
    offset = 0,
    options?: OperationOptions,
  ): Promise<DataOf<M>> {
    const codec = this.#codec;
    return this.#with(() => {
      checkSize("size", size);
      checkNonNegative("offset", offset);
      this.#requireReadable();
    }, async (io, signal) => {
      const bytes = await io.read(size, offset, signal);
      return (codec === undefined
        ? bytes
        : codec.decodeAt(bytes, this.name, offset)) as DataOf<M>;
    }, options);
  }

  /**
   * Like {@linkcode read}, always resolving to bytes, in text modes too.
   *
   * @example Bytes of a text file
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "héllo");
   * await using afp = await AIOFile.open(path, "r");
   * const bytes = await afp.readBytes(2, 1); // "é"
   * assert.deepEqual(bytes, new Uint8Array([0xc3, 0xa9]));
   * await assert.rejects(afp.read(1, 1), TypeError); // text: half a character
   * ```
   */
  readBytes(
    size = -1,
    offset = 0,
    options?: OperationOptions,
  ): Promise<Uint8Array> {
    return this.#with(
      () => {
        checkSize("size", size);
        checkNonNegative("offset", offset);
        this.#requireReadable();
      },
      (io, signal) => io.read(size, offset, signal),
      options,
    );
  }

  /**
   * Reads at `offset` into `target`, memory you own (any `Uint8Array`, a view
   * at a non-zero offset too), until it is full or the file ends; resolves to
   * the bytes read, fewer than `target.length` only at the end of the file. It
   * allocates nothing: a loop can read into one buffer over and over, in every
   * mode. The bytes of `target` past what was read are left as they were.
   *
   * The kernel never sees `target` itself: backends that hand memory to the
   * kernel or to another thread read into buffers of the library's own and
   * copy in once the read is over, so transferring or resizing `target`'s
   * buffer meanwhile cannot corrupt memory (the read then rejects with a
   * `TypeError`). On an `O_DIRECT` file the offset and `target.length` follow
   * the device's alignment, as for {@linkcode read}.
   *
   * @example Read a file in pieces into one buffer
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeFile(path, new Uint8Array(10_000).fill(7));
   * await using afp = await AIOFile.open(path, "rb");
   * const buffer = new Uint8Array(4096);
   * let total = 0;
   * for (let n; (n = await afp.readInto(buffer, total)) > 0;) total += n;
   * assert.equal(total, 10_000);
   * ```
   */
  readInto(
    target: Uint8Array,
    offset = 0,
    options?: OperationOptions,
  ): Promise<number> {
    return this.#with(
      () => {
        if (!(target instanceof Uint8Array)) {
          throw new TypeError(
            `target must be a Uint8Array, got ${describeValue(target)}`,
          );
        }
        checkNonNegative("offset", offset);
        this.#requireReadable();
      },
      (io, signal) => io.readInto(target, offset, "caller", true, signal),
      options,
    );
  }

  /**
   * Writes `data` (a `string` in text modes, a `Uint8Array` in binary modes) at
   * `offset`, looping until every byte is written; resolves to the number of bytes
   * written. In append modes every write lands at the end of the file.
   *
   * @example Write at offsets, in any order
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+");
   * assert.equal(await afp.write("world", 6), 5);
   * assert.equal(await afp.write("Hello "), 6); // offset 0
   * assert.equal(await afp.read(), "Hello world");
   * ```
   *
   * @example Append, whatever the offset
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "one\n");
   * await using afp = await AIOFile.open(path, "a");
   * await afp.write("two\n"); // offset 0, yet it lands at the end
   * assert.equal(await Deno.readTextFile(path), "one\ntwo\n");
   * ```
   */
  write(
    data: DataOf<M>,
    offset = 0,
    options?: OperationOptions,
  ): Promise<number> {
    let bytes: Uint8Array;
    let owned: boolean;
    return this.#with(
      () => {
        this.#requireWritable();
        ({ bytes, owned } = this.#bytesOf(data));
        checkNonNegative("offset", offset);
      },
      (io, signal) => io.write(bytes, offset, owned, signal),
      options,
    );
  }

  /**
   * Like {@linkcode write}, taking bytes in any mode.
   *
   * @example Bytes into a text file
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+");
   * const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
   * assert.equal(await afp.writeBytes(bom), 3);
   * await afp.write("text", 3);
   * assert.equal(await afp.read(-1, 3), "text");
   * ```
   */
  writeBytes(
    bytes: Uint8Array,
    offset = 0,
    options?: OperationOptions,
  ): Promise<number> {
    let data: Uint8Array;
    return this.#with(
      () => {
        data = asBytes("bytes", bytes);
        checkNonNegative("offset", offset);
        this.#requireWritable();
      },
      (io, signal) => io.write(data, offset, false, signal),
      options,
    );
  }

  /**
   * Flushes data and metadata to the device (`fsync(2)`), after the writes
   * issued before it have landed.
   *
   * @example Make a write durable
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await AIOFile.open(path, "w");
   * const written = afp.write("saved"); // not awaited: fsync waits for it
   * await afp.fsync();
   * assert.equal(await Deno.readTextFile(path), "saved");
   * assert.equal(await written, 5);
   * ```
   */
  fsync(options?: OperationOptions): Promise<void> {
    return this.#with(
      undefined,
      (io, signal) => io.sync(false, signal),
      options,
    );
  }

  /**
   * Flushes data, and the metadata needed to read it, to the device
   * (`fdatasync(2)`), after the writes issued before it have landed.
   *
   * @example Make data durable
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await AIOFile.open(path, "wb");
   * await afp.write(new Uint8Array(4096).fill(1));
   * await afp.fdsync(); // the size is part of what it saves
   * assert.equal((await Deno.stat(path)).size, 4096);
   * ```
   */
  fdsync(options?: OperationOptions): Promise<void> {
    return this.#with(
      undefined,
      (io, signal) => io.sync(true, signal),
      options,
    );
  }

  /**
   * Sets the file's length (`ftruncate(2)`); default 0.
   *
   * @example Cut a file short, then empty it
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "Hello world");
   * await using afp = await AIOFile.open(path, "r+");
   * await afp.truncate(5);
   * assert.equal(await afp.read(), "Hello");
   * await afp.truncate();
   * assert.equal(await afp.size(), 0);
   * ```
   */
  truncate(length = 0, options?: OperationOptions): Promise<void> {
    return this.#with(
      () => {
        checkNonNegative("length", length);
        this.#requireWritable();
      },
      (io, signal) => io.truncate(length, signal),
      options,
    );
  }

  /**
   * The file's current size in bytes.
   *
   * @example A write past the end grows the file
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+b");
   * assert.equal(await afp.size(), 0);
   * await afp.write(new Uint8Array(100), 1000);
   * assert.equal(await afp.size(), 1100);
   * ```
   */
  size(): Promise<number> {
    return this.#with(undefined, (io) => io.size());
  }

  /**
   * What the file system says of the open file (`fstat(2)`), as the
   * `Deno.FileInfo` that `Deno.stat` and `Deno.FsFile.stat()` give for it:
   * `size`, `isFile`, `mtime`, `ino`, `mode`, `nlink`, `blocks`, ...
   *
   * @example The size and kind of an open file
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await using afp = await AIOFile.open(path, "w+");
   * await afp.write("hello");
   * const info = await afp.stat();
   * assert.equal(info.size, 5);
   * assert.equal(info.isFile, true);
   * assert.equal(info.ino, (await Deno.stat(path)).ino);
   * ```
   */
  stat(): Promise<Deno.FileInfo> {
    return this.#with(undefined, (io) => io.stat());
  }

  /**
   * Closes the file: waits for its requests in flight, makes written data durable
   * (`fsync`, only if something was written since the last sync, and not for
   * special files that cannot be synced), then releases
   * the descriptor. Idempotent. If the sync fails, the descriptor is released all
   * the same and `close()` rejects with the sync's error.
   *
   * @example Close, then nothing more
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * const afp = await AIOFile.open(path, "w");
   * await afp.write("done");
   * await afp.close();
   * await afp.close(); // idempotent
   * await assert.rejects(afp.write("more"), Deno.errors.BadResource);
   * assert.equal(await Deno.readTextFile(path), "done");
   * ```
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      // From this call on, no new operation is admitted.
      const owner = this.#state === "new" ? undefined : this.#owner;
      if (this.#state === "open" || this.#state === "opening") {
        this.#state = "closing";
      }
      // The context counts the close from this call on, so a context closed
      // after it waits for the final sync and the release of the descriptor.
      let admitted: ContextAccess | undefined;
      try {
        owner?.enter();
        admitted = owner;
      } catch {
        // The context is closing already: the close goes on without it.
      }
      this.#closing = this.#close(admitted !== undefined).finally(() =>
        admitted?.leave()
      );
    }
    return this.#closing;
  }

  /**
   * Closes the file: `await using afp = await AIOFile.open(...)`.
   *
   * @example Closed at the end of the block
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * let file: AIOFile<"w">;
   * {
   *   await using afp = await AIOFile.open(await Deno.makeTempFile(), "w");
   *   file = afp;
   * }
   * assert.equal(file.closed, true);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @param admitted Whether the context counts this close. */
  async #close(admitted: boolean): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => {});
    this.#state = "closing";
    const io = this.#io;
    try {
      await io?.close(admitted);
    } finally {
      this.#io = undefined;
      this.#state = "closed";
    }
  }

  /**
   * Runs `operation` on the open file once `check` (the arguments) passes;
   * both reject, never throw: an argument error first, then a file that is
   * not open (`BadResource`).
   */
  #with<T>(
    check: (() => void) | undefined,
    operation: (io: OpenFile, signal: AbortSignal | undefined) => Promise<T>,
    options?: OperationOptions,
  ): Promise<T> {
    try {
      check?.();
      const signal = signalOf(options);
      if (signal?.aborted) throw signal.reason;
      const io = this.#io;
      if (this.#state !== "open" || io === undefined) {
        throw notOpen(
          this.name,
          this.#state === "new" || this.#state === "opening"
            ? "not opened"
            : "closed",
        );
      }
      return operation(io, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #requireReadable(): void {
    if (!this.mode.readable) {
      throw new Deno.errors.BadResource(
        `File '${this.name}' is not open for reading (mode "${this.mode.text}")`,
      );
    }
  }

  #requireWritable(): void {
    if (!this.mode.writable) {
      throw new Deno.errors.BadResource(
        `File '${this.name}' is not open for writing (mode "${this.mode.text}")`,
      );
    }
  }

  /**
   * The bytes that {@linkcode write} would write for `data`: binary data as it
   * is (`owned: false`, the caller's buffer), text encoded into a new buffer
   * (`owned: true`); a `TypeError` for the wrong type.
   */
  #bytesOf(data: unknown): { bytes: Uint8Array; owned: boolean } {
    if (this.#codec === undefined) {
      return { bytes: asBytes("data", data), owned: false };
    }
    if (typeof data === "string") {
      return { bytes: this.#codec.encode(data), owned: true };
    }
    throw new TypeError(
      `data must be a string in text mode "${this.mode.text}", got ${
        describeValue(data)
      }`,
    );
  }

  /** What the library's helpers reach of this file (see {@linkcode fileAccess}). */
  #access(): FileAccess {
    const seekable = () => this.seekable;
    // An O_DIRECT file ending unaligned before `offset` reads as its end.
    const unlessPastEnd = <T>(
      io: OpenFile,
      offset: number,
      atEnd: T,
      read: () => Promise<T>,
    ): Promise<T> =>
      io.pastDirectEnd(offset)?.then((past) => past ? atEnd : read()) ??
        read();
    return {
      get seekable(): boolean {
        return seekable();
      },
      readBytes: (size, offset, signal) =>
        this.#with(
          () => this.#requireReadable(),
          (io) =>
            unlessPastEnd(io, offset, new Uint8Array(0), async () => {
              if (io.seekable) return await io.read(size, offset, signal);
              // A stream gives what it has: a reader must not wait for more.
              const buffer = new Uint8Array(size);
              const n = await io.readInto(
                buffer,
                offset,
                "library",
                false,
                signal,
              );
              return n === size ? buffer : buffer.slice(0, n);
            }),
          { signal },
        ),
      readInto: (into, offset, signal) =>
        this.#with(() => this.#requireReadable(), (io) =>
          unlessPastEnd(
            io,
            offset,
            0,
            () => io.readInto(into, offset, "library", false, signal),
          ), { signal }),
      bytesOf: (data) => {
        this.#requireWritable();
        return this.#bytesOf(data);
      },
      encode: (data) => {
        const { bytes, owned } = this.#bytesOf(data);
        return owned ? bytes : bytes.slice();
      },
      write: (bytes, offset, owned, signal) =>
        this.#with(
          () => this.#requireWritable(),
          (io) => io.write(bytes, offset, owned, signal),
          { signal },
        ),
      defer: (error) => this.#io?.defer(error),
      delivered: (error) => this.#io?.delivered(error),
    };
  }
}

/** Each file's {@linkcode FileAccess}. */
const ACCESS = new WeakMap<object, FileAccess>();

/**
 * What the library's helpers (readers, writers, the file wrapper) reach of
 * `afp` beyond its public methods. Not exported from `mod.ts`.
 */
export function fileAccess<M extends string>(afp: AIOFile<M>): FileAccess {
  return ACCESS.get(afp)!;
}
