/**
 * Files that cannot seek (pipes, FIFOs, sockets, terminals) for the FFI
 * backends: `read(2)` and `write(2)` at the stream's own position, in the order
 * `AIOFile` issues them (one at a time), without ever blocking the JavaScript
 * thread.
 *
 * The descriptor is made nonblocking (it is this file's own open, so no other
 * process shares the flag). A read or write is tried on this thread; when it
 * would block (`EAGAIN`), `poll(2)` waits for the descriptor on Deno's thread
 * pool, and the call is tried again. A stream that never becomes ready keeps
 * one pool thread waiting, as a blocking read would, unless the call's
 * `AbortSignal` aborts: the wait also watches an eventfd of this file's,
 * which the abort signals, so the pool thread is given back and nothing is
 * read or written.
 *
 * @module
 */

import { fixedMemory, lastErrno, type Libc } from "../ffi/libc.ts";
import { ERRNO } from "../ffi/errno.ts";
import { errorFromErrno } from "./shared/errors.ts";
import type { BackendFile } from "./backend.ts";
import { closeDescriptor, fileInfoOf } from "./descriptor.ts";
import { trackForeignCall } from "./pending.ts";
import { whenAborted } from "./shared/abort.ts";

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const POLLIN = 1;
const POLLOUT = 4;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
/** The eventfd counter's increment, as `write(2)` takes it. */
const ONE = new BigUint64Array([1n]);

/** A stream served through the C library. */
export class StreamFile implements BackendFile {
  readonly seekable = false;
  readonly endOnShortRead = false;
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #path: string;
  /**
   * Two `struct pollfd` for the waits, each `fd` (i32), `events` (i16),
   * `revents` (i16): the stream, then the cancel eventfd.
   */
  readonly #pollfd = fixedMemory(Uint8Array, 16);
  /** Signalled when a wait's signal aborts (made at the first such wait). */
  #cancelFd = -1;

  /**
   * @param libc The loaded C library.
   * @param fd An open descriptor of a file that cannot seek; this file owns it.
   * @param path Its path, for messages.
   */
  constructor(libc: Libc, fd: number, path: string) {
    this.#libc = libc;
    this.#fd = fd;
    this.#path = path;
    const { fcntl } = libc.symbols;
    const flags = fcntl(fd, F_GETFL, 0n);
    if (flags < 0 || fcntl(fd, F_SETFL, BigInt(flags | O_NONBLOCK)) !== 0) {
      throw errorFromErrno(lastErrno(libc), "fcntl", path);
    }
    new DataView(this.#pollfd.buffer).setInt32(0, fd, true);
  }

  read(
    into: Uint8Array,
    _offset: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const { read_now } = this.#libc.symbols;
    return this.#whenReady(
      "read",
      POLLIN,
      () => read_now(this.#fd, into, BigInt(into.length)),
      signal,
    );
  }

  write(
    data: Uint8Array,
    _offset: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const { write } = this.#libc.symbols;
    return this.#whenReady(
      "write",
      POLLOUT,
      () => write(this.#fd, data, BigInt(data.length)),
      signal,
    );
  }

  /**
   * Runs `call` on this thread; while it would block, waits until the
   * descriptor is ready for `events` and runs it again.
   */
  async #whenReady(
    syscall: string,
    events: number,
    call: () => number | bigint,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const result = Number(call());
      if (result >= 0) return result;
      const errno = lastErrno(this.#libc);
      if (errno === ERRNO.EAGAIN) await this.#wait(events, signal);
      else if (errno !== ERRNO.EINTR) {
        throw errorFromErrno(errno, syscall, this.#path);
      }
    }
  }

  /**
   * Waits on Deno's pool until the descriptor is ready for `events` (or
   * fails: the call says why), or until `signal` aborts (then rejects with
   * its reason).
   */
  async #wait(events: number, signal: AbortSignal | undefined): Promise<void> {
    const { poll } = this.#libc.symbols;
    const view = new DataView(this.#pollfd.buffer);
    view.setInt16(4, events, true);
    view.setInt16(6, 0, true);
    if (signal === undefined) {
      await trackForeignCall(() => poll(this.#pollfd, 1n, -1));
      return;
    }
    const cancelFd = this.#cancelEventfd();
    view.setInt32(8, cancelFd, true);
    view.setInt16(12, POLLIN, true);
    view.setInt16(14, 0, true);
    const { write } = this.#libc.symbols;
    const forget = whenAborted(signal, () => write(cancelFd, ONE, 8n));
    try {
      await trackForeignCall(() => poll(this.#pollfd, 2n, -1));
    } finally {
      forget();
    }
    if (signal.aborted) {
      // Reset the counter (nonblocking: 0 or 1 increments) for the next wait.
      this.#libc.symbols.read_now(cancelFd, new BigUint64Array(1), 8n);
      throw signal.reason;
    }
  }

  #cancelEventfd(): number {
    if (this.#cancelFd >= 0) return this.#cancelFd;
    const fd = this.#libc.symbols.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
      throw errorFromErrno(lastErrno(this.#libc), "eventfd", this.#path);
    }
    return this.#cancelFd = fd;
  }

  fsync(): Promise<void> {
    return this.#now("fsync", () => this.#libc.symbols.fsync_now(this.#fd));
  }

  fdatasync(): Promise<void> {
    return this.#now(
      "fdatasync",
      () => this.#libc.symbols.fdatasync_now(this.#fd),
    );
  }

  truncate(length: number): Promise<void> {
    return this.#now(
      "ftruncate",
      () => this.#libc.symbols.ftruncate_now(this.#fd, BigInt(length)),
    );
  }

  /** A call that does not wait on a stream (it fails at once, or succeeds). */
  #now(syscall: string, call: () => number): Promise<void> {
    if (call() === 0) return Promise.resolve();
    const error = errorFromErrno(lastErrno(this.#libc), syscall, this.#path);
    return Promise.reject(error);
  }

  async size(): Promise<number> {
    return (await this.stat()).size;
  }

  stat(): Promise<Deno.FileInfo> {
    try {
      return Promise.resolve(fileInfoOf(this.#libc, this.#fd, this.#path));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    if (this.#cancelFd >= 0) this.#libc.symbols.close(this.#cancelFd);
    return closeDescriptor(this.#libc, this.#fd);
  }
}
