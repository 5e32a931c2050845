/**
 * `AIOFile`: positional file I/O with no file pointer.
 *
 * @module
 */

import {
  type BackendFile,
  type BackendName,
  MAX_REQUEST_BYTES,
  type OpenTarget,
} from "../impl/backend.ts";
import {
  type Context,
  defaultContext,
  enterOperation,
  giveRequestTurn,
  leaveOperation,
  openWith,
  requestWith,
  takeRequestTurn,
} from "./context.ts";
import { type TextCodec, textCodec } from "./encoding.ts";
import { AIOError, normalizeError, notOpen } from "../impl/shared/errors.ts";
import { type FileMode, openFlags, parseMode } from "./mode.ts";
import { STAGED_READ_MAX, stagingBuffers } from "./staging.ts";
import { StreamOrder } from "./stream_order.ts";
import type { ByteReadable } from "./file_access.ts";
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
 * @example
 * ```ts
 * import type { DataOf } from "@aiofile/aiofile";
 * const bytes: DataOf<"rb"> = new Uint8Array(4);
 * const text: DataOf<"w+"> = "hello";
 * console.log(bytes.length, text.length);
 * ```
 */
export type DataOf<M extends string> = string extends M ? string | Uint8Array
  : M extends `${string}b${string}` ? Uint8Array
  : string;

/**
 * Options for {@linkcode AIOFile}.
 *
 * @example
 * ```ts
 * import { AIOFile, type AIOFileOptions } from "@aiofile/aiofile";
 * const options: AIOFileOptions = { encoding: "utf-16le" };
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+", options);
 * console.log(await afp.write("hi")); // 4 bytes
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

/**
 * What the helpers built on `AIOFile` (readers, writers, wrappers) need of it
 * beyond its public methods. Not exported from `mod.ts`.
 */
export const fileInternals = {} as {
  /** The bytes `afp.write(data)` would write; throws `TypeError` for the wrong type. */
  encode<M extends string>(afp: AIOFile<M>, data: unknown): Uint8Array;
  /**
   * `afp`'s bytes for the library's own readers, whose `readInto` buffers no
   * caller can reach while a read runs: they go to the kernel as they are.
   */
  ownReads<M extends string>(afp: AIOFile<M>): ByteReadable;
  /**
   * Records a failed write whose caller has not been told yet: the file's next
   * `fsync`, `fdsync` or `close` rejects with it (once).
   */
  defer<M extends string>(afp: AIOFile<M>, error: unknown): void;
  /** The caller was told of `error` after all: forget it. */
  delivered<M extends string>(afp: AIOFile<M>, error: unknown): void;
  /**
   * The bytes of `data` for a write: binary data as it is (`owned: false`, the
   * caller's buffer), text encoded into a new buffer (`owned: true`).
   */
  bytesOf<M extends string>(
    afp: AIOFile<M>,
    data: unknown,
  ): { bytes: Uint8Array; owned: boolean };
  /**
   * Writes bytes the caller may change once this returns: written before it
   * returns when the backend writes inline, else copied first.
   */
  writeBorrowed<M extends string>(
    afp: AIOFile<M>,
    bytes: Uint8Array,
    offset: number,
  ): Promise<number>;
  /** Writes bytes that the caller hands over and never touches again (no copy). */
  writeOwned<M extends string>(
    afp: AIOFile<M>,
    bytes: Uint8Array,
    offset: number,
  ): Promise<number>;
};

/** How much a read allocates at a time past the size the file reports (0 for procfs). */
const UNKNOWN_SIZE_CHUNK = 65536;

function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

/** Reads larger than this ask the file's size first, to allocate only what it holds. */
const SIZE_QUERY_ABOVE = 1 << 20;

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
 *
 * const path = await Deno.makeTempFile();
 * await using afp = await AIOFile.open(path, "w+");
 * const line = "Hello world\n";
 * await Promise.all(
 *   Array.from({ length: 10 }, (_, i) => afp.write(line, i * line.length)),
 * );
 * await afp.fsync();
 * console.log((await afp.read(line.length * 10)) === line.repeat(10)); // true
 * ```
 *
 * @example Without `await using`
 * ```ts
 * import { AIOFile } from "@aiofile/aiofile";
 *
 * const afp = new AIOFile(await Deno.makeTempFile(), "w+b");
 * await afp.open();
 * await afp.write(new Uint8Array([1, 2, 3]), 0);
 * console.log(await afp.read(2, 1)); // Uint8Array(2) [ 2, 3 ]
 * await afp.close();
 * ```
 */
export class AIOFile<M extends string = "r"> implements AsyncDisposable {
  /** The path (or `<Deno.FsFile>` for a file handle passed in). */
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
  #file: BackendFile | undefined;
  #owner: Context | undefined;
  #backend: BackendName | undefined;
  /** Set for a file that cannot seek: its operations' order and position. */
  #stream: StreamOrder | undefined;
  #active = 0;
  #idle: (() => void) | undefined;
  #writes = 0;
  /** Writes in flight: a sync waits for those issued before it. */
  readonly #writing = new Set<Promise<number>>();
  /**
   * The last write of an append mode while it runs: appends go one after
   * another, in call order (the file, not the offset, says where they land).
   */
  #lastAppend: Promise<number> | undefined;
  /** A failed write issued by a helper that has not told its caller yet. */
  #deferred: { error: unknown } | undefined;
  #syncedWrites = 0;

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
  }

  /**
   * Makes and opens a file in one step.
   *
   * @example
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "r+b");
   * console.log(afp.backend);
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

  /** True before {@linkcode open} has finished, and after {@linkcode close}. */
  get closed(): boolean {
    return this.#state !== "open";
  }

  /** The backend serving this file (`"uring"`, `"linux"`, `"thread"`, `"deno"`), once open. */
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
   * @example
   * ```ts
   * import { AIOFile } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using afp = await AIOFile.open(await Deno.makeTempFile(), "r");
   * assert.equal(afp.seekable, true);
   * ```
   */
  get seekable(): boolean {
    return this.#stream === undefined;
  }

  /**
   * Opens the file. Calling it again while open or opening returns the same
   * promise; after {@linkcode close} it rejects with `Deno.errors.BadResource`.
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
      this.#owner = context;
      const { backend, file } = await openWith(context, this.#target);
      if (file.seekable === false) {
        this.#stream = new StreamOrder(this.name);
        this.#file = this.#stream.track(file);
      } else {
        this.#file = file;
      }
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
  read(size = -1, offset = 0): Promise<DataOf<M>> {
    if (this.#codec === undefined && this.#canReadSmall(size, offset)) {
      return this.#readSmall(size, offset) as Promise<DataOf<M>>;
    }
    return this.#do("read", async (file) => {
      const bytes = await this.#read(file, size, offset);
      return (this.#codec === undefined
        ? bytes
        : this.#codec.decodeAt(bytes, this.name, offset)) as DataOf<M>;
    }, () => {
      checkSize("size", size);
      checkNonNegative("offset", offset);
      this.#requireReadable();
    }, offset);
  }

  /** Like {@linkcode read}, always resolving to bytes, in text modes too. */
  readBytes(size = -1, offset = 0): Promise<Uint8Array> {
    if (this.#canReadSmall(size, offset)) return this.#readSmall(size, offset);
    return this.#do("read", (file) => this.#read(file, size, offset), () => {
      checkSize("size", size);
      checkNonNegative("offset", offset);
      this.#requireReadable();
    }, offset);
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
  readInto(target: Uint8Array, offset = 0): Promise<number> {
    if (
      target instanceof Uint8Array && this.#canReadSmall(target.length, offset)
    ) {
      return this.#readIntoSmall(target, offset);
    }
    return this.#do(
      "read",
      (file) => this.#readIntoTarget(file, target, 0, offset),
      () => {
        if (!(target instanceof Uint8Array)) {
          throw new TypeError(
            `target must be a Uint8Array, got ${describeValue(target)}`,
          );
        }
        checkNonNegative("offset", offset);
        this.#requireReadable();
      },
      offset,
    );
  }

  /**
   * Writes `data` (a `string` in text modes, a `Uint8Array` in binary modes) at
   * `offset`, looping until every byte is written; resolves to the number of bytes
   * written. In append modes every write lands at the end of the file.
   */
  write(data: DataOf<M>, offset = 0): Promise<number> {
    if (this.#codec === undefined && data instanceof Uint8Array) {
      // Written before this returns, or not at all: no copy needed.
      const inline = this.#writeInline(data, offset);
      if (inline !== undefined) return inline;
    }
    let bytes: Uint8Array;
    return this.#do("write", (file) => this.#write(file, bytes, offset), () => {
      this.#requireWritable();
      bytes = this.#encode(data);
      checkNonNegative("offset", offset);
    }, offset);
  }

  /** Like {@linkcode write}, taking bytes in any mode. */
  writeBytes(bytes: Uint8Array, offset = 0): Promise<number> {
    if (bytes instanceof Uint8Array) {
      const inline = this.#writeInline(bytes, offset);
      if (inline !== undefined) return inline;
    }
    let copy: Uint8Array;
    return this.#do("write", (file) => this.#write(file, copy, offset), () => {
      copy = asBytes("bytes", bytes).slice();
      checkNonNegative("offset", offset);
      this.#requireWritable();
    }, offset);
  }

  /**
   * The bytes that {@linkcode write} would write for `data`: text encoded, binary
   * data copied (the caller may change its buffer as soon as the call returns).
   */
  #encode(data: unknown): Uint8Array {
    if (this.#codec === undefined) return asBytes("data", data).slice();
    if (typeof data === "string") return this.#codec.encode(data);
    throw new TypeError(
      `data must be a string in text mode "${this.mode.text}", got ${
        describeValue(data)
      }`,
    );
  }

  static {
    fileInternals.defer = (afp, error) => afp.#deferred ??= { error };
    fileInternals.delivered = (afp, error) => {
      if (afp.#deferred?.error === error) afp.#deferred = undefined;
    };
    fileInternals.encode = (afp, data) => afp.#encode(data);
    fileInternals.ownReads = (afp) => {
      // `read`, or `atEnd` where an O_DIRECT file ends unaligned before `offset`.
      const unlessPastEnd = <T>(
        offset: number,
        atEnd: T,
        read: () => Promise<T>,
      ): Promise<T> =>
        afp.#pastDirectEnd(offset)?.then((past) => past ? atEnd : read()) ??
          read();
      return {
        get seekable() {
          return afp.seekable;
        },
        readBytes: (size, offset) =>
          unlessPastEnd(
            offset,
            new Uint8Array(0),
            () =>
              afp.#stream === undefined
                ? afp.readBytes(size, offset)
                : afp.#readSome(size, offset),
          ),
        readInto: (into, offset) =>
          unlessPastEnd(offset, 0, () => afp.#readIntoOwn(into, offset)),
      };
    };
    fileInternals.bytesOf = (afp, data) =>
      afp.#codec === undefined
        ? { bytes: asBytes("data", data), owned: false }
        : { bytes: afp.#encode(data), owned: true };
    fileInternals.writeOwned = (afp, bytes, offset) =>
      afp.#writeInline(bytes, offset) ?? afp.#writeQueued(bytes, offset);
    fileInternals.writeBorrowed = (afp, bytes, offset) =>
      afp.#writeInline(bytes, offset) ??
        afp.#writeQueued(bytes.slice(), offset);
  }

  /** Writes bytes the library owns through the backend's queue. */
  #writeQueued(bytes: Uint8Array, offset: number): Promise<number> {
    return this.#do("write", (file) => this.#write(file, bytes, offset), () => {
      checkNonNegative("offset", offset);
      this.#requireWritable();
    }, offset);
  }

  /**
   * A write the backend does on this thread before returning (a buffered
   * write to ext4 on a kernel-queue backend), taken when the file is open for
   * writing, the offset is valid and a request turn is free: the bytes need no
   * copy, and the promises of {@linkcode #do} are saved. `undefined` when it
   * cannot be taken (nothing was written).
   */
  #writeInline(
    bytes: Uint8Array,
    offset: unknown,
  ): Promise<number> | undefined {
    const file = this.#file;
    if (
      this.#state !== "open" || file?.writeInline === undefined ||
      !this.mode.writable || bytes.length === 0 ||
      this.#lastAppend !== undefined || // appends land in call order
      typeof offset !== "number" || !(offset >= 0) ||
      !Number.isSafeInteger(offset)
    ) {
      return undefined;
    }
    const owner = this.#owner!;
    try {
      enterOperation(owner);
    } catch {
      return undefined; // the usual way reports it
    }
    if (!takeRequestTurn(owner)) {
      leaveOperation(owner);
      return undefined;
    }
    let written: Promise<number> | undefined;
    try {
      written = file.writeInline(bytes, offset);
    } catch (error) {
      written = Promise.reject(error);
    }
    giveRequestTurn(owner); // the write is over
    if (written === undefined) {
      leaveOperation(owner);
      return undefined;
    }
    this.#active++;
    return written.then(
      (n) => {
        this.#writes++;
        this.#leave(owner);
        return n;
      },
      (error) => {
        this.#leave(owner);
        throw normalizeError(error, "write", this.name);
      },
    );
  }

  /**
   * Flushes data and metadata to the device (`fsync(2)`), after the writes
   * issued before it have landed.
   */
  fsync(): Promise<void> {
    return this.#sync("fsync", (file) => file.fsync());
  }

  /**
   * Flushes data, and the metadata needed to read it, to the device
   * (`fdatasync(2)`), after the writes issued before it have landed.
   */
  fdsync(): Promise<void> {
    return this.#sync("fdatasync", (file) => file.fdatasync());
  }

  /** Sets the file's length (`ftruncate(2)`); default 0. */
  truncate(length = 0): Promise<void> {
    return this.#do("ftruncate", async (file) => {
      await this.#request(() => file.truncate(length));
      this.#writes++;
    }, () => {
      checkNonNegative("length", length);
      this.#requireWritable();
    });
  }

  /** The file's current size in bytes. */
  size(): Promise<number> {
    return this.#do("fstat", (file) => this.#request(() => file.size()));
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
    return this.#do("fstat", (file) => this.#request(() => file.stat()));
  }

  /**
   * Closes the file: waits for its requests in flight, makes written data durable
   * (`fsync`, only if something was written since the last sync, and not for
   * special files that cannot be synced), then releases
   * the descriptor. Idempotent. If the sync fails, the descriptor is released all
   * the same and `close()` rejects with the sync's error.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      // From this call on, no new operation is admitted.
      if (this.#state === "open" || this.#state === "opening") {
        this.#state = "closing";
      }
      // The context counts the close from this call on, so a context closed
      // after it waits for the final sync and the release of the descriptor.
      const owner = this.#state === "new" ? undefined : this.#owner;
      let admitted: Context | undefined;
      try {
        if (owner !== undefined) enterOperation(owner);
        admitted = owner;
      } catch {
        // The context is closing already: the close goes on without it.
      }
      this.#closing = this.#close(admitted).finally(() => {
        if (admitted !== undefined) leaveOperation(admitted);
      });
    }
    return this.#closing;
  }

  /** Closes the file: `await using afp = await AIOFile.open(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @param admitted The context that counts this close, if it does. */
  async #close(admitted: Context | undefined): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => {});
    const file = this.#file;
    this.#state = "closing";
    if (file === undefined) {
      this.#state = "closed";
      return;
    }
    if (this.#active > 0) {
      await new Promise<void>((resolve) => this.#idle = resolve);
    }
    let failure: unknown;
    if (this.#writes !== this.#syncedWrites) {
      try {
        if (admitted === undefined) enterOperation(this.#owner!);
        try {
          await this.#request(() => file.fsync());
        } finally {
          if (admitted === undefined) leaveOperation(this.#owner!);
        }
      } catch (error) {
        // EINVAL: a special file (a pipe, a character device) that cannot be synced.
        if ((error as { code?: string }).code !== "EINVAL") {
          failure = normalizeError(error, "fsync", this.name);
        }
      }
    }
    try {
      await file.close();
    } catch (error) {
      failure ??= normalizeError(error, "close", this.name);
    }
    this.#file = undefined;
    this.#state = "closed";
    if (failure !== undefined) throw failure;
    this.#throwDeferred();
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
   * Runs one operation: checks the arguments and the state (both reject, never
   * throw), counts it as in flight for `close()`, and brings errors to the
   * library's form.
   */
  async #do<T>(
    syscall: string,
    operation: (file: BackendFile) => Promise<T>,
    check?: () => void,
    offset?: number,
  ): Promise<T> {
    check?.();
    const file = this.#file;
    if (this.#state !== "open" || file === undefined) {
      throw notOpen(
        this.name,
        this.#state === "new" || this.#state === "opening"
          ? "not opened"
          : "closed",
      );
    }
    const owner = this.#owner!;
    enterOperation(owner);
    this.#active++;
    try {
      const stream = this.#stream;
      if (stream === undefined) return await operation(file);
      return await stream.run(offset, () => operation(file));
    } catch (error) {
      throw normalizeError(error, syscall, this.name);
    } finally {
      this.#leave(owner);
    }
  }

  #request<T>(request: () => Promise<T>): Promise<T> {
    return requestWith(this.#owner!, request);
  }

  #sync(
    syscall: string,
    sync: (file: BackendFile) => Promise<void>,
  ): Promise<void> {
    return this.#do(syscall, async (file) => {
      if (this.#writing.size > 0) await Promise.allSettled(this.#writing);
      const writes = this.#writes;
      try {
        await this.#request(() => sync(file));
      } catch (error) {
        this.#throwDeferred(); // A failed write matters more.
        throw error;
      }
      this.#syncedWrites = Math.max(this.#syncedWrites, writes);
      this.#throwDeferred();
    });
  }

  #throwDeferred(): void {
    const deferred = this.#deferred;
    this.#deferred = undefined;
    if (deferred !== undefined) throw deferred.error;
  }

  /**
   * For the library's own sequential readers, which read on from where the last
   * read ended: whether `offset`, not aligned on an `O_DIRECT` file, is at or
   * past its end. A short read of a file whose size is not a multiple of the
   * alignment ends there, and the read after it could not be made (`O_DIRECT`
   * reads start on the alignment), but nothing is left to read. Undefined, at
   * no cost, when the read can be made as it is; an unaligned offset within
   * the file is the caller's, and is refused as usual.
   */
  #pastDirectEnd(offset: number): Promise<boolean> | undefined {
    const alignment = this.#file?.alignment ?? 1;
    if (alignment === 1 || offset % alignment === 0) return undefined;
    return this.size().then((size) => offset >= size);
  }

  /**
   * Whether a read can take the short way: an open readable file, valid
   * arguments, and a size that needs no size query (the usual random read).
   */
  #canReadSmall(size: unknown, offset: unknown): size is number {
    return this.#state === "open" && this.mode.readable &&
      this.#stream === undefined &&
      typeof size === "number" && size > 0 && size <= SIZE_QUERY_ABOVE &&
      Number.isInteger(size) && typeof offset === "number" && offset >= 0 &&
      Number.isSafeInteger(offset);
  }

  /**
   * One read request as an operation of this open file, with as few promises
   * as the work needs (the accounting of {@linkcode #do}): a free turn is taken
   * here and given back once the request settles, saving the promise
   * `requestWith` would add; otherwise the request waits its turn there.
   * `finish` completes the operation from the bytes read; `failed` runs when
   * the request fails.
   */
  #quickRead<T>(
    into: Uint8Array,
    offset: number,
    finish: (file: BackendFile, n: number) => T | Promise<T>,
    failed?: () => void,
  ): Promise<T> {
    const file = this.#file!;
    const owner = this.#owner!;
    try {
      enterOperation(owner);
    } catch (error) {
      failed?.();
      return Promise.reject(error);
    }
    this.#active++;
    const turn = takeRequestTurn(owner);
    let request: Promise<number>;
    try {
      request = turn
        ? file.read(into, offset)
        : requestWith(owner, () => file.read(into, offset));
    } catch (error) {
      request = Promise.reject(error);
    }
    const fail = (error: unknown): never => {
      this.#leave(owner);
      throw normalizeError(error, "read", this.name);
    };
    return request.then(
      (n) => {
        if (turn) giveRequestTurn(owner);
        let result: T | Promise<T>;
        try {
          result = finish(file, n);
        } catch (error) {
          return fail(error);
        }
        if (!(result instanceof Promise)) {
          this.#leave(owner);
          return result;
        }
        return result.then((value) => {
          this.#leave(owner);
          return value;
        }, fail);
      },
      (error) => {
        if (turn) giveRequestTurn(owner);
        failed?.();
        return fail(error);
      },
    );
  }

  /** {@linkcode readBytes} for a checked small read on an open file. */
  #readSmall(size: number, offset: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(size);
    return this.#quickRead(
      buffer,
      offset,
      (file, n) =>
        n === size ? buffer : this.#finishShortRead(file, buffer, n, offset),
    );
  }

  async #finishShortRead(
    file: BackendFile,
    buffer: Uint8Array,
    n: number,
    offset: number,
  ): Promise<Uint8Array> {
    const got = n === 0 || file.endOnShortRead
      ? n
      : await this.#fill(file, buffer, n, offset + n);
    return got === buffer.length ? buffer : buffer.slice(0, got);
  }

  /** {@linkcode readInto} for a checked small read on an open file. */
  #readIntoSmall(target: Uint8Array, offset: number): Promise<number> {
    const file = this.#file!;
    const rest = (file: BackendFile, n: number) =>
      n === target.length || n === 0 || file.endOnShortRead
        ? n
        : this.#readIntoTarget(file, target, n, offset + n);
    if (!needsStaging(file, target)) {
      return this.#quickRead(target, offset, (file, n) => {
        checkTarget(target, n, this.name);
        return rest(file, n);
      });
    }
    const stage = stagingBuffers.take(target.length);
    return this.#quickRead(stage, offset, (file, n) => {
      try {
        copyRead(stage, n, target, 0, this.name);
      } finally {
        stagingBuffers.give(stage);
      }
      return rest(file, n);
    }, () => stagingBuffers.give(stage));
  }

  /**
   * Reads into `target` (the caller's memory) from index `from` (file position
   * `position`) until it is full or the file ends; resolves to the bytes it
   * holds. Where the backend would hand `target` to the kernel or another
   * thread, it reads into staging buffers of the library's and copies in.
   */
  async #readIntoTarget(
    file: BackendFile,
    target: Uint8Array,
    from: number,
    position: number,
  ): Promise<number> {
    if (!needsStaging(file, target)) {
      const got = await this.#fill(file, target, from, position);
      checkTarget(target, got, this.name);
      return got;
    }
    let got = from;
    while (got < target.length) {
      const want = Math.min(target.length - got, STAGED_READ_MAX);
      const stage = stagingBuffers.take(want);
      let n: number;
      try {
        const at = position + got - from;
        n = await this.#request(() => file.read(stage, at));
        copyRead(stage, n, target, got, this.name);
      } finally {
        stagingBuffers.give(stage);
      }
      got += n;
      if (n === 0 || (n < want && file.endOnShortRead)) break;
    }
    return got;
  }

  #leave(owner: Context): void {
    if (--this.#active === 0 && this.#idle !== undefined) {
      this.#idle();
      this.#idle = undefined;
    }
    leaveOperation(owner);
  }

  /**
   * Reads at `offset` into `into`, until it is full or the file ends; resolves
   * to the bytes read. `into` is a buffer of the library's own readers, or the
   * view of a BYOB read that a byte stream holds (its caller gave the buffer up
   * to the stream): no caller can reach it while this runs, so it goes to the
   * backend as it is.
   */
  #readIntoOwn(into: Uint8Array, offset: number): Promise<number> {
    return this.#do(
      "read",
      (file) =>
        this.#stream === undefined
          ? this.#fill(file, into, 0, offset)
          // A stream gives what it has: a reader must not wait for more.
          : this.#request(() => file.read(into, offset)),
      () => {
        checkNonNegative("offset", offset);
        this.#requireReadable();
      },
      offset,
    );
  }

  /**
   * For the library's own readers of a file that cannot seek: one read of up
   * to `size` bytes, what the stream has (fewer before its end too; empty at
   * its end).
   */
  #readSome(size: number, offset: number): Promise<Uint8Array> {
    return this.#do("read", async (file) => {
      const buffer = new Uint8Array(size);
      const n = await this.#request(() => file.read(buffer, offset));
      return n === size ? buffer : buffer.slice(0, n);
    }, () => {
      checkSize("size", size);
      this.#requireReadable();
    }, offset);
  }

  /**
   * Reads up to `size` bytes (all, for -1) at `offset`. The buffer is sized by
   * what the file holds, not by `size`, so a huge `size` on a small file costs
   * nothing; small reads skip the size query.
   */
  async #read(
    file: BackendFile,
    size: number,
    offset: number,
  ): Promise<Uint8Array> {
    if (size !== -1 && size <= SIZE_QUERY_ABOVE) {
      // The usual case: one request, its buffer returned as it is.
      const buffer = new Uint8Array(size);
      if (size === 0) return buffer;
      const n = await this.#request(() => file.read(buffer, offset));
      if (n === size) return buffer;
      return await this.#finishShortRead(file, buffer, n, offset);
    }
    const limit = size === -1 ? Infinity : size;
    let capacity = limit;
    if (limit > SIZE_QUERY_ABOVE) {
      const remaining = (await this.#request(() => file.size())) - offset;
      capacity = Math.min(
        limit,
        remaining > 0
          ? roundUp(remaining, file.alignment ?? 1)
          : UNKNOWN_SIZE_CHUNK,
      );
    }
    let buffer = new Uint8Array(capacity);
    let got = await this.#fill(file, buffer, 0, offset);
    // Full, and more may be wanted: the file may be longer than it said (it
    // grew, or it is a special file). Probe past the end before growing, so that
    // the usual case returns its exact buffer with no copy.
    while (got === buffer.length && got < limit) {
      const probe = new Uint8Array(Math.min(UNKNOWN_SIZE_CHUNK, limit - got));
      const n = await this.#fill(file, probe, 0, offset + got);
      if (n === 0) break;
      const bigger = new Uint8Array(
        Math.min(limit, Math.max(buffer.length * 2, got + probe.length)),
      );
      bigger.set(buffer);
      bigger.set(probe.subarray(0, n), got);
      buffer = bigger;
      got = n < probe.length
        ? got + n
        : await this.#fill(file, buffer, got + n, offset + got + n);
    }
    return got === buffer.length ? buffer : buffer.slice(0, got);
  }

  /**
   * Reads into `buffer` (the library's memory) from index `from` (file position
   * `position`) until it is full or a read returns 0 (end of file), one
   * request of at most {@linkcode MAX_REQUEST_BYTES} at a time; resolves to the
   * bytes it holds.
   */
  async #fill(
    file: BackendFile,
    buffer: Uint8Array,
    from: number,
    position: number,
  ): Promise<number> {
    let got = from;
    while (got < buffer.length) {
      const into = buffer.subarray(
        got,
        Math.min(buffer.length, got + MAX_REQUEST_BYTES),
      );
      const at = position + got - from;
      const n = await this.#request(() => file.read(into, at));
      got += n;
      if (n === 0 || (n < into.length && file.endOnShortRead)) break;
    }
    return got;
  }

  /**
   * Writes all of `bytes` at `offset`; a sync waits for it. In append modes it
   * waits for the append before it, so that appends land in call order.
   */
  #write(
    file: BackendFile,
    bytes: Uint8Array,
    offset: number,
  ): Promise<number> {
    let writing: Promise<number>;
    if (this.mode.appending) {
      const write = () => this.#writeAll(file, bytes, offset);
      const previous = this.#lastAppend;
      writing = previous === undefined ? write() : previous.then(write, write);
      this.#lastAppend = writing;
    } else {
      writing = this.#writeAll(file, bytes, offset);
    }
    const forget = () => {
      this.#writing.delete(writing);
      if (this.#lastAppend === writing) this.#lastAppend = undefined;
    };
    this.#writing.add(writing);
    writing.then(forget, forget);
    return writing;
  }

  /**
   * Writes until every byte is written, one request of at most
   * {@linkcode MAX_REQUEST_BYTES} at a time (the kernel's limit for one call).
   */
  async #writeAll(
    file: BackendFile,
    bytes: Uint8Array,
    offset: number,
  ): Promise<number> {
    let done = 0;
    while (done < bytes.length) {
      const rest = bytes.subarray(
        done,
        Math.min(bytes.length, done + MAX_REQUEST_BYTES),
      );
      const at = offset + done;
      const n = await this.#request(() => file.write(rest, at));
      if (n <= 0) throw new AIOError("EIO", 5, "write", this.name);
      this.#writes++;
      done += n;
    }
    return done;
  }
}

/**
 * Whether a read into the caller's `target` must go through a staging buffer:
 * unless the backend copies into it itself, or holds its memory for the call
 * (and `target`'s buffer is a plain, fixed-length `ArrayBuffer`), the kernel or
 * another thread would write into memory the caller can transfer or resize.
 */
function needsStaging(file: BackendFile, target: Uint8Array): boolean {
  switch (file.readMemory ?? "library") {
    case "copied":
      return false;
    case "held": {
      const buffer = target.buffer;
      return !(buffer instanceof ArrayBuffer) || buffer.resizable;
    }
    default:
      return true;
  }
}

/**
 * Copies the `n` bytes a read put into `stage` into `target` at `at`; throws a
 * `TypeError` when `target` lost its memory while the read was in flight.
 */
function copyRead(
  stage: Uint8Array,
  n: number,
  target: Uint8Array,
  at: number,
  name: string,
): void {
  if (n === 0) return;
  checkTarget(target, at + n, name);
  target.set(n === stage.length ? stage : stage.subarray(0, n), at);
}

/**
 * Throws a `TypeError` when `target` no longer holds `length` bytes: its
 * buffer was transferred or shrunk while a read into it was in flight.
 */
function checkTarget(target: Uint8Array, length: number, name: string): void {
  if ((target.buffer as ArrayBuffer).detached || length > target.length) {
    throw new TypeError(
      `The target of a read of '${name}' was transferred or resized while the read was in flight`,
    );
  }
}
