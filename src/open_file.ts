/**
 * `OpenFile`: the I/O of one open file, under `AIOFile` (which checks the
 * arguments, owns the open/close states and the text encoding) and over the
 * backend's file.
 *
 * - **One read path**: {@linkcode OpenFile.readInto} reads into a buffer,
 *   request after request, until it is full or the file ends (a stream: once,
 *   for what it has). Where the buffer is the caller's and the backend would
 *   hand it to the kernel or to another thread, the bytes go through staging
 *   buffers of the library's (src/staging.ts). {@linkcode OpenFile.read}
 *   allocates the buffer (sized by what the file holds) and reads into it.
 * - **One write path**: {@linkcode OpenFile.write} writes on this thread when
 *   the backend does such writes inline (no copy needed), else copies bytes it
 *   does not own and queues them, request after request until all are written;
 *   appends go one after another, in call order.
 * - **Accounting**: every operation is admitted by the context (which waits
 *   for it before closing) and counted for `close()`; a sync waits for the
 *   writes made before it; a file that cannot seek runs its operations one at
 *   a time, in call order, at its own position (src/stream_order.ts).
 * - **Few promises on the usual path**: a read of up to 1 MiB whose request
 *   takes a free turn of the context settles with one promise of the backend's
 *   and one of its own (see {@linkcode OpenFile.readInto}).
 *
 * @module
 */

import { type BackendFile, MAX_REQUEST_BYTES } from "../impl/backend.ts";
import type { ContextAccess } from "./context.ts";
import { ERRNO } from "../ffi/errno.ts";
import { AIOError, normalizeError } from "../impl/shared/errors.ts";
import { abortable } from "../impl/shared/abort.ts";
import { STAGED_READ_MAX, stagingBuffers } from "./staging.ts";
import { StreamOrder } from "./stream_order.ts";

/** Reads larger than this ask the file's size first, to allocate only what it holds. */
export const SIZE_QUERY_ABOVE = 1 << 20;

/** How much a read allocates at a time past the size the file reports (0 for procfs). */
const UNKNOWN_SIZE_CHUNK = 65536;

/** Whose memory a read fills. */
export type ReadTarget =
  /** The library's (a result it allocated, a reader's own buffer): the backend may hand it to the kernel. */
  | "library"
  /** The caller's: it goes to the kernel only where the backend holds it (Deno's ops). */
  | "caller";

/** The I/O of one open file. */
export class OpenFile {
  /** The file's name, for messages. */
  readonly name: string;
  readonly #file: BackendFile;
  readonly #context: ContextAccess;
  readonly #appending: boolean;
  /** Set for a file that cannot seek: its operations' order and position. */
  readonly #stream: StreamOrder | undefined;
  #active = 0;
  #idle: (() => void) | undefined;
  /** Requests that wrote, and how many of them the last sync covered. */
  #writes = 0;
  #syncedWrites = 0;
  /** Writes in flight: a sync waits for those made before it. */
  readonly #writing = new Set<Promise<number>>();
  /** The last append while it runs: appends land one after another. */
  #lastAppend: Promise<number> | undefined;
  /** A failed write made by a helper that has not told its caller yet. */
  #deferred: { error: unknown } | undefined;

  /**
   * @param name The file's name, for messages.
   * @param file The backend's file.
   * @param context The context that admits its operations.
   * @param appending Whether every write lands at the end of the file.
   */
  constructor(
    name: string,
    file: BackendFile,
    context: ContextAccess,
    appending: boolean,
  ) {
    this.name = name;
    this.#context = context;
    this.#appending = appending;
    if (file.seekable === false) {
      this.#stream = new StreamOrder(name);
      this.#file = this.#stream.track(file);
    } else {
      this.#file = file;
    }
  }

  /** False for a file that cannot seek (a pipe, a FIFO, a terminal). */
  get seekable(): boolean {
    return this.#stream === undefined;
  }

  /** `O_DIRECT`: offsets and lengths must be multiples of this; 1 otherwise. */
  get alignment(): number {
    return this.#file.alignment ?? 1;
  }

  // -------------------------------------------------------------------------
  // Reads

  /**
   * Reads `size` bytes (all that is left, for -1) at `offset` into a buffer of
   * their own, sized by what the file holds, not by `size`: a huge `size` on a
   * small file costs nothing.
   */
  read(
    size: number,
    offset: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    if (size !== -1 && size <= SIZE_QUERY_ABOVE) {
      const buffer = new Uint8Array(size);
      const result = (n: number) => n === size ? buffer : buffer.slice(0, n);
      if (size === 0) return this.#run("read", () => Promise.resolve(buffer));
      if (this.#stream === undefined && this.#context.tryTakeTurn()) {
        return this.#readOnce(buffer, offset, false, result, signal);
      }
      return this.#streamAbortable(
        this.#run(
          "read",
          () => this.#fill(buffer, 0, offset, false, true, signal).then(result),
          offset,
          signal,
        ),
        signal,
      );
    }
    return this.#streamAbortable(
      this.#run(
        "read",
        () => this.#readSized(size, offset, signal),
        offset,
        signal,
      ),
      signal,
    );
  }

  /**
   * A read of a file that can seek rejects at once on abort by itself (the
   * backend's read does); one of a stream may end only when the stream has
   * data (Deno's reads), keeping its turn meanwhile: it rejects at once here.
   */
  #streamAbortable<T>(
    reading: Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    return this.#stream === undefined ? reading : abortable(reading, signal);
  }

  /**
   * Reads at `offset` into `into` until it is full or the file ends (a file
   * that cannot seek: once, what it has, when `whole` is false); resolves to
   * the bytes read. `target` says whose memory `into` is.
   *
   * The usual read (a file that can seek, one request that fills `into`, a
   * free turn of the context) takes the short way: the turn is taken here
   * and the backend called at once, saving the promises of the long way.
   *
   * When `signal` aborts, the promise rejects at once with its reason, and
   * nothing more is copied into `into` (a backend that holds the caller's
   * memory, Deno's, may still finish a read into it).
   */
  readInto(
    into: Uint8Array,
    offset: number,
    target: ReadTarget,
    whole = true,
    signal?: AbortSignal,
  ): Promise<number> {
    if (into.length === 0) return this.#run("read", () => Promise.resolve(0));
    const staged = target === "caller" && this.#needsStaging(into, signal);
    if (
      this.#stream === undefined && into.length <= SIZE_QUERY_ABOVE &&
      this.#context.tryTakeTurn()
    ) {
      return this.#readOnce(into, offset, staged, (n) => n, signal);
    }
    return this.#streamAbortable(
      this.#run(
        "read",
        () => this.#fill(into, 0, offset, staged, whole, signal),
        offset,
        signal,
      ),
      signal,
    );
  }

  /**
   * {@linkcode readInto}'s short way: one request in a turn taken already,
   * then, if it did not fill `into` (a file that does not end on a short
   * read), the long way for the rest; resolves to `result` of the bytes
   * read.
   */
  #readOnce<T>(
    into: Uint8Array,
    offset: number,
    staged: boolean,
    result: (n: number) => T,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    try {
      this.#admit();
    } catch (error) {
      this.#context.giveTurn();
      return Promise.reject(error);
    }
    const stage = staged ? stagingBuffers.take(into.length) : into;
    let request: Promise<number>;
    try {
      request = this.#file.read(stage, offset, signal);
    } catch (error) {
      request = Promise.reject(error);
    }
    return request.then(
      (n) => {
        this.#context.giveTurn();
        try {
          signal?.throwIfAborted(); // nothing lands in `into` after an abort
          if (staged) copyRead(stage, n, into, 0, this.name);
          else checkTarget(into, n, this.name);
        } catch (error) {
          this.#release();
          throw this.#normalize(error, "read", signal);
        } finally {
          // After an abort the backend may still hold the stage: never reuse it.
          if (staged && !signal?.aborted) stagingBuffers.give(stage);
        }
        if (n === into.length || n === 0 || this.#file.endOnShortRead) {
          this.#release();
          return result(n);
        }
        return this.#fill(into, n, offset + n, staged, true, signal).then(
          (got) => {
            this.#release();
            return result(got);
          },
          (error) => {
            this.#release();
            throw this.#normalize(error, "read", signal);
          },
        );
      },
      (error) => {
        this.#context.giveTurn();
        if (staged && !signal?.aborted) stagingBuffers.give(stage);
        this.#release();
        throw this.#normalize(error, "read", signal);
      },
    );
  }

  /**
   * Reads into `into` from index `from` (file position `position`) until it
   * is full or a read returns 0 (the end of the file), one request of at most
   * {@linkcode MAX_REQUEST_BYTES} (of {@linkcode STAGED_READ_MAX} when staged)
   * at a time; a stream read once when `whole` is false. Resolves to the
   * bytes `into` holds.
   */
  async #fill(
    into: Uint8Array,
    from: number,
    position: number,
    staged: boolean,
    whole: boolean,
    signal?: AbortSignal,
  ): Promise<number> {
    const file = this.#file;
    let got = from;
    while (got < into.length) {
      signal?.throwIfAborted();
      const most = staged ? STAGED_READ_MAX : MAX_REQUEST_BYTES;
      const want = Math.min(into.length - got, most);
      const at = position + got - from;
      let n: number;
      if (staged) {
        const stage = stagingBuffers.take(want);
        try {
          n = await this.#request(() => file.read(stage, at, signal), signal);
          signal?.throwIfAborted();
          copyRead(stage, n, into, got, this.name);
        } finally {
          if (!signal?.aborted) stagingBuffers.give(stage);
        }
      } else {
        const part = into.subarray(got, got + want);
        n = await this.#request(() => file.read(part, at, signal), signal);
      }
      got += n;
      if (n === 0 || (n < want && file.endOnShortRead)) break;
      if (!whole && this.#stream !== undefined) break;
    }
    if (!staged) checkTarget(into, got, this.name);
    return got;
  }

  /** A read of unknown or large size: the buffer is sized by the file. */
  async #readSized(
    size: number,
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    const limit = size === -1 ? Infinity : size;
    let capacity = limit;
    if (limit > SIZE_QUERY_ABOVE) {
      const remaining = (await this.#request(() => this.#file.size(), signal)) -
        offset;
      capacity = Math.min(
        limit,
        remaining > 0 ? roundUp(remaining, this.alignment) : UNKNOWN_SIZE_CHUNK,
      );
    }
    let buffer = new Uint8Array(capacity);
    let got = await this.#fill(buffer, 0, offset, false, true, signal);
    // Full, and more may be wanted: the file may be longer than it said (it
    // grew, or it is a special file). Probe past the end before growing, so
    // that the usual case returns its exact buffer with no copy.
    while (got === buffer.length && got < limit) {
      const probe = new Uint8Array(Math.min(UNKNOWN_SIZE_CHUNK, limit - got));
      const n = await this.#fill(probe, 0, offset + got, false, true, signal);
      if (n === 0) break;
      const bigger = new Uint8Array(
        Math.min(limit, Math.max(buffer.length * 2, got + probe.length)),
      );
      bigger.set(buffer);
      bigger.set(probe.subarray(0, n), got);
      buffer = bigger;
      got = n < probe.length ? got + n : await this.#fill(
        buffer,
        got + n,
        offset + got + n,
        false,
        true,
        signal,
      );
    }
    return got === buffer.length ? buffer : buffer.slice(0, got);
  }

  /**
   * For the library's own sequential readers of an `O_DIRECT` file, which read
   * on from where the last read ended: whether `offset`, not aligned, is at or
   * past its end (the file's size is not a multiple of the alignment, and
   * nothing is left to read). Undefined, at no cost, when the read can be
   * made as it is; an unaligned offset within the file is refused as usual.
   */
  pastDirectEnd(offset: number): Promise<boolean> | undefined {
    const alignment = this.alignment;
    if (alignment === 1 || offset % alignment === 0) return undefined;
    return this.size().then((size) => offset >= size);
  }

  /**
   * Whether a read into the caller's `into` must go through staging: unless
   * the backend copies into it itself, or holds its memory for the call (and
   * `into`'s buffer is a plain, fixed-length `ArrayBuffer`), the kernel or
   * another thread would write into memory the caller can transfer or resize.
   */
  #needsStaging(into: Uint8Array, signal?: AbortSignal): boolean {
    switch (this.#file.readMemory ?? "library") {
      case "copied":
        return false;
      case "held": {
        // An aborted read rejects at once while Deno's op runs on: it must
        // not write into the caller's memory after that.
        if (signal !== undefined) return true;
        const buffer = into.buffer;
        return !(buffer instanceof ArrayBuffer) || buffer.resizable;
      }
      default:
        return true;
    }
  }

  // -------------------------------------------------------------------------
  // Writes

  /**
   * Writes all of `bytes` at `offset`; resolves to their count. Done on this
   * thread when the backend does such writes inline (then nothing keeps
   * `bytes` after the call); otherwise queued, with `bytes` copied first
   * unless `owned` (the caller hands them over and never touches them again).
   * In append modes writes land one after another, in call order.
   *
   * When `signal` aborts, a write still waiting for its turn is dropped, and
   * one the backend has started settles once the backend is done with it
   * (cancelled, or over): a write never lands after its promise rejected.
   */
  write(
    bytes: Uint8Array,
    offset: number,
    owned: boolean,
    signal?: AbortSignal,
  ): Promise<number> {
    const inline = this.#writeInline(bytes, offset);
    if (inline !== undefined) return inline;
    const mine = owned ? bytes : bytes.slice();
    return this.#run(
      "write",
      () => this.#queueWrite(mine, offset, signal),
      offset,
      signal,
    );
  }

  /**
   * A write the backend does on this thread before returning (a buffered
   * write to ext4 on a kernel-queue backend), when a request turn is free and
   * no append is in flight: `undefined` when it cannot be taken (nothing was
   * written).
   */
  #writeInline(bytes: Uint8Array, offset: number): Promise<number> | undefined {
    const file = this.#file;
    if (
      file.writeInline === undefined || bytes.length === 0 ||
      this.#lastAppend !== undefined // appends land in call order
    ) {
      return undefined;
    }
    try {
      this.#admit();
    } catch {
      return undefined; // the usual way reports it
    }
    if (!this.#context.tryTakeTurn()) {
      this.#release();
      return undefined;
    }
    let written: Promise<number> | undefined;
    try {
      written = file.writeInline(bytes, offset);
    } catch (error) {
      written = Promise.reject(error);
    }
    this.#context.giveTurn(); // the write is over
    if (written === undefined) {
      this.#release();
      return undefined;
    }
    return written.then(
      (n) => {
        this.#writes++;
        this.#release();
        return n;
      },
      (error) => {
        this.#release();
        throw normalizeError(error, "write", this.name);
      },
    );
  }

  /** Writes all of `bytes` (the library's) at `offset`; a sync waits for it. */
  #queueWrite(
    bytes: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    let writing: Promise<number>;
    if (this.#appending) {
      const write = () => this.#writeAll(bytes, offset, signal);
      const previous = this.#lastAppend;
      writing = previous === undefined ? write() : previous.then(write, write);
      this.#lastAppend = writing;
    } else {
      writing = this.#writeAll(bytes, offset, signal);
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
    bytes: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const file = this.#file;
    let done = 0;
    while (done < bytes.length) {
      signal?.throwIfAborted();
      const rest = bytes.subarray(
        done,
        Math.min(bytes.length, done + MAX_REQUEST_BYTES),
      );
      const at = offset + done;
      const n = await this.#request(() => file.write(rest, at, signal), signal);
      if (n <= 0) throw new AIOError("EIO", ERRNO.EIO, "write", this.name);
      this.#writes++;
      done += n;
    }
    return done;
  }

  /**
   * Records a failed write made by a helper whose caller has not been told
   * yet: the next `fsync`, `fdsync` or `close` rejects with it (once).
   */
  defer(error: unknown): void {
    this.#deferred ??= { error };
  }

  /** The caller was told of `error` after all: forget it. */
  delivered(error: unknown): void {
    if (this.#deferred?.error === error) this.#deferred = undefined;
  }

  // -------------------------------------------------------------------------
  // Syncs, size, close

  /**
   * `fsync(2)` or `fdatasync(2)` (`data`), after the writes made before it
   * have landed; rejects with a failure a helper deferred, first.
   */
  sync(data: boolean, signal?: AbortSignal): Promise<void> {
    const syscall = data ? "fdatasync" : "fsync";
    return abortable(
      this.#run(
        syscall,
        async () => {
          if (this.#writing.size > 0) await Promise.allSettled(this.#writing);
          signal?.throwIfAborted();
          const writes = this.#writes;
          const file = this.#file;
          try {
            await this.#request(
              () => data ? file.fdatasync(signal) : file.fsync(signal),
              signal,
            );
          } catch (error) {
            // The caller has its abort reason: a deferred failure waits for the
            // next sync or close.
            if (signal?.aborted) throw signal.reason;
            this.#throwDeferred(); // A failed write matters more.
            throw error;
          }
          this.#syncedWrites = Math.max(this.#syncedWrites, writes);
          if (signal?.aborted) throw signal.reason; // as above
          this.#throwDeferred();
        },
        undefined,
        signal,
      ),
      signal,
    );
  }

  /** `ftruncate(2)`; `signal` as for {@linkcode write}. */
  truncate(length: number, signal?: AbortSignal): Promise<void> {
    return this.#run(
      "ftruncate",
      async () => {
        await this.#request(() => this.#file.truncate(length, signal), signal);
        this.#writes++;
      },
      undefined,
      signal,
    );
  }

  /** The file's size in bytes. */
  size(): Promise<number> {
    return this.#run("fstat", () => this.#request(() => this.#file.size()));
  }

  /** What `fstat(2)` says of the file. */
  stat(): Promise<Deno.FileInfo> {
    return this.#run("fstat", () => this.#request(() => this.#file.stat()));
  }

  /**
   * Waits for the operations admitted before, makes what was written since
   * the last sync durable (not for special files that cannot be synced),
   * then releases the backend's file: it is released even if the sync fails,
   * and the sync's error (or a deferred write failure) rejects then.
   *
   * @param admitted Whether the context admitted this close already (else
   * the final sync asks it now, and fails if the context is closing).
   */
  async close(admitted: boolean): Promise<void> {
    if (this.#active > 0) {
      await new Promise<void>((resolve) => this.#idle = resolve);
    }
    let failure: unknown;
    if (this.#writes !== this.#syncedWrites) {
      try {
        if (!admitted) this.#context.enter();
        try {
          await this.#request(() => this.#file.fsync());
        } finally {
          if (!admitted) this.#context.leave();
        }
      } catch (error) {
        // EINVAL: a special file (a pipe, a character device) that cannot be synced.
        if ((error as { code?: string }).code !== "EINVAL") {
          failure = normalizeError(error, "fsync", this.name);
        }
      }
    }
    try {
      await this.#file.close();
    } catch (error) {
      failure ??= normalizeError(error, "close", this.name);
    }
    if (failure !== undefined) throw failure;
    this.#throwDeferred();
  }

  #throwDeferred(): void {
    const deferred = this.#deferred;
    this.#deferred = undefined;
    if (deferred !== undefined) throw deferred.error;
  }

  // -------------------------------------------------------------------------
  // Admission

  /**
   * Runs one operation: admitted by the context (throws `BadResource` once it
   * is closing), counted for `close()`, in call order at the stream's
   * position for a file that cannot seek (`offset`, when it names one, must
   * be that position), its errors brought to the library's form.
   */
  async #run<T>(
    syscall: string,
    operation: () => Promise<T>,
    offset?: number,
    signal?: AbortSignal,
  ): Promise<T> {
    this.#admit();
    try {
      const stream = this.#stream;
      if (stream === undefined) return await operation();
      return await stream.run(offset, operation, signal);
    } catch (error) {
      throw this.#normalize(error, syscall, signal);
    } finally {
      this.#release();
    }
  }

  /**
   * `error` in the library's form, unless it is the reason of `signal`,
   * which the caller gets as it gave it.
   */
  #normalize(
    error: unknown,
    syscall: string,
    signal: AbortSignal | undefined,
  ): unknown {
    if (signal?.aborted && error === signal.reason) return error;
    return normalizeError(error, syscall, this.name);
  }

  /** Admits one operation: the context's and this file's count. */
  #admit(): void {
    this.#context.enter();
    this.#active++;
  }

  #release(): void {
    if (--this.#active === 0 && this.#idle !== undefined) {
      this.#idle();
      this.#idle = undefined;
    }
    this.#context.leave();
  }

  /**
   * One request to the backend, within an admitted operation, in turn; one
   * still waiting for its turn when `signal` aborts is dropped.
   */
  #request<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#context.request(request, signal);
  }
}

function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
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
