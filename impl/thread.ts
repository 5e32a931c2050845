/**
 * The `thread` backend: libc `pread`/`pwrite`/`fsync`/`fdatasync`/`ftruncate`
 * called as nonblocking FFI functions, which run on Deno's thread pool, on real
 * file descriptors.
 *
 * Files are opened with `node:fs`, which checks Deno's read and write permissions
 * and returns a real descriptor, so this backend never reaches a file the sandbox
 * would refuse. Deno's pool (32 threads) also serves every async `Deno.FsFile`
 * operation, so this backend keeps at most {@linkcode POOL_CALLS} calls on it.
 *
 * @module
 */

import {
  lastErrno,
  type Libc,
  loadLibc,
  SYNC_FILE_RANGE_WRITE,
} from "../ffi/libc.ts";
import { errorFromErrno } from "./shared/errors.ts";
import { Semaphore } from "./shared/semaphore.ts";
import { abortable } from "./shared/abort.ts";
import {
  type Backend,
  type BackendFile,
  CannotServe,
  type OpenTarget,
} from "./backend.ts";
import {
  canSeek,
  closeDescriptor,
  descriptorOf,
  fileInfoOf,
} from "./descriptor.ts";
import { StreamFile } from "./stream_file.ts";
import { trackForeignCall } from "./pending.ts";
import type { FileRange } from "./ring/policies/preallocation.ts";

/** The most calls this backend keeps on Deno's thread pool at once. */
export const POOL_CALLS = 16;

/** The `thread` backend. */
export class ThreadBackend implements Backend {
  readonly name = "thread" as const;
  readonly #libc: Libc;
  readonly #pool = new Semaphore(POOL_CALLS);

  /** @param libc The loaded C library. */
  constructor(libc: Libc) {
    this.#libc = libc;
  }

  async open(target: OpenTarget): Promise<BackendFile> {
    if (target.kind === "fsfile") {
      throw new CannotServe("a Deno.FsFile exposes no file descriptor");
    }
    if (target.flags.direct) {
      throw new CannotServe(
        "O_DIRECT needs aligned buffers",
        target.kind === "descriptor" ? target : undefined,
      );
    }
    const descriptor = await descriptorOf(this.#libc, target);
    const { fd, path } = descriptor;
    try {
      if (!canSeek(this.#libc, descriptor)) {
        return new StreamFile(this.#libc, fd, path);
      }
    } catch (error) {
      await descriptor.close();
      throw error;
    }
    return new ThreadFile(this.#libc, this.#pool, fd, path);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class ThreadFile implements BackendFile {
  readonly #libc: Libc;
  readonly #pool: Semaphore;
  /** Calls made through the pool and not over yet. */
  #calls = 0;
  /** Resolves `close()`'s wait once no call is running. */
  #idle: (() => void) | undefined;
  readonly #fd: number;
  readonly #path: string;

  constructor(libc: Libc, pool: Semaphore, fd: number, path: string) {
    this.#libc = libc;
    this.#pool = pool;
    this.#fd = fd;
    this.#path = path;
  }

  /**
   * Runs `call` on the pool. A negative result is an error whose `errno` was lost
   * on the pool thread: `again` repeats the call on this thread, where `errno`
   * can be read; if the repeat succeeds, its result stands.
   */
  async #call(
    syscall: string,
    call: () => Promise<number | bigint>,
    again: () => number | bigint,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    // A call waiting for a turn of the pool is dropped when `signal` aborts;
    // one on the pool cannot be stopped, and settles when it ends.
    this.#calls++;
    let result: number | bigint;
    try {
      result = await this.#pool.run(() => trackForeignCall(call), signal);
    } finally {
      if (--this.#calls === 0) this.#idle?.();
    }
    if (result >= 0) return Number(result);
    const retried = again();
    if (retried >= 0) return Number(retried);
    throw errorFromErrno(lastErrno(this.#libc), syscall, this.#path);
  }

  read(
    into: Uint8Array,
    offset: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const { pread, pread_now } = this.#libc.symbols;
    const [fd, len, off] = [this.#fd, BigInt(into.length), BigInt(offset)];
    const reading = this.#call(
      "read",
      () => pread(fd, into, len, off),
      () => pread_now(fd, into, len, off),
      signal,
    );
    if (signal === undefined) return reading;
    // A call on the pool cannot be stopped: on abort the read rejects at
    // once, and `into` stays referenced until the call is over.
    reading.then(() => into, () => into);
    return abortable(reading, signal);
  }

  write(
    data: Uint8Array,
    offset: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const { pwrite, pwrite_now } = this.#libc.symbols;
    const [fd, len, off] = [this.#fd, BigInt(data.length), BigInt(offset)];
    return this.#call(
      "write",
      () => pwrite(fd, data, len, off),
      () => pwrite_now(fd, data, len, off),
      signal,
    );
  }

  /**
   * `pwrite(2)` on this thread, now: for callers that measured it to be cheaper
   * than a hop to the pool (a buffered write is a copy into the page cache).
   */
  writeNow(data: Uint8Array, offset: number): number {
    const n = this.#libc.symbols.pwrite_now(
      this.#fd,
      data,
      BigInt(data.length),
      BigInt(offset),
    );
    if (n >= 0) return Number(n);
    throw errorFromErrno(lastErrno(this.#libc), "write", this.#path);
  }

  /**
   * `fallocate(2)` on this thread, now (a metadata change, cheap next to the
   * writes it serves); false when the file system refuses it.
   */
  fallocateNow(mode: number, range: FileRange): boolean {
    return this.#libc.symbols.fallocate(
      this.#fd,
      mode,
      BigInt(range.offset),
      BigInt(range.length),
    ) === 0;
  }

  /**
   * Starts writing the range's dirty pages to disk (`sync_file_range(2)` with
   * `SYNC_FILE_RANGE_WRITE`) on the pool, if a turn of the pool is free now:
   * writeback is never worth making reads and syncs wait. Resolves to the
   * call's result (`-1` on failure); `undefined` when the pool is busy (see
   * impl/ring/policies/early_writeback.ts).
   */
  startWriteback(range: FileRange): Promise<number> | undefined {
    if (!this.#pool.tryTake()) return undefined;
    const { sync_file_range } = this.#libc.symbols;
    return trackForeignCall(() =>
      sync_file_range(
        this.#fd,
        BigInt(range.offset),
        BigInt(range.length),
        SYNC_FILE_RANGE_WRITE,
      )
    ).finally(() => this.#pool.give());
  }

  /** `ftruncate(2)` on this thread, now; false when it fails. */
  truncateNow(length: number): boolean {
    return this.#libc.symbols.ftruncate_now(this.#fd, BigInt(length)) === 0;
  }

  async fsync(signal?: AbortSignal): Promise<void> {
    const { fsync, fsync_now } = this.#libc.symbols;
    await abortable(
      this.#call(
        "fsync",
        () => fsync(this.#fd),
        () => fsync_now(this.#fd),
        signal,
      ),
      signal,
    );
  }

  async fdatasync(signal?: AbortSignal): Promise<void> {
    const { fdatasync, fdatasync_now } = this.#libc.symbols;
    await abortable(
      this.#call(
        "fdatasync",
        () => fdatasync(this.#fd),
        () => fdatasync_now(this.#fd),
        signal,
      ),
      signal,
    );
  }

  async truncate(length: number, signal?: AbortSignal): Promise<void> {
    const { ftruncate, ftruncate_now } = this.#libc.symbols;
    const size = BigInt(length);
    await this.#call(
      "ftruncate",
      () => ftruncate(this.#fd, size),
      () => ftruncate_now(this.#fd, size),
      signal,
    );
  }

  async size(): Promise<number> {
    return (await this.stat()).size;
  }

  stat(): Promise<Deno.FileInfo> {
    try {
      return Promise.resolve(this.statNow());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** What `fstat` says of the file, now, on this thread. */
  statNow(): Deno.FileInfo {
    return fileInfoOf(this.#libc, this.#fd, this.#path);
  }

  /**
   * Closes the descriptor once no call on it is running (a read rejected by
   * its signal may still be on the pool: its descriptor must not be reused
   * under it).
   */
  async close(): Promise<void> {
    if (this.#calls > 0) {
      await new Promise<void>((resolve) => this.#idle = resolve);
    }
    return closeDescriptor(this.#libc, this.#fd);
  }
}

/** Describes the `thread` backend: needs FFI permission and glibc. */
export const threadProvider = {
  name: "thread" as const,
  unavailableReason(): string | undefined {
    const libc = loadLibc();
    return libc.ok ? undefined : libc.reason;
  },
  create(): Backend {
    const libc = loadLibc();
    if (!libc.ok) throw new Error(libc.reason);
    return new ThreadBackend(libc.library);
  },
};
