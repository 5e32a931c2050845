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
 * one pool thread waiting, as a blocking read would.
 *
 * @module
 */

import { fixedMemory, lastErrno, type Libc } from "../ffi/libc.ts";
import { ERRNO } from "../ffi/errno.ts";
import { errorFromErrno } from "./shared/errors.ts";
import type { BackendFile } from "./backend.ts";
import { closeDescriptor, fileInfoOf } from "./descriptor.ts";
import { trackForeignCall } from "./pending.ts";

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const POLLIN = 1;
const POLLOUT = 4;

/** A stream served through the C library. */
export class StreamFile implements BackendFile {
  readonly seekable = false;
  readonly endOnShortRead = false;
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #path: string;
  /** `struct pollfd` for the waits: `fd` (i32), `events` (i16), `revents` (i16). */
  readonly #pollfd = fixedMemory(Uint8Array, 8);

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

  read(into: Uint8Array, _offset: number): Promise<number> {
    const { read_now } = this.#libc.symbols;
    return this.#whenReady(
      "read",
      POLLIN,
      () => read_now(this.#fd, into, BigInt(into.length)),
    );
  }

  write(data: Uint8Array, _offset: number): Promise<number> {
    const { write } = this.#libc.symbols;
    return this.#whenReady(
      "write",
      POLLOUT,
      () => write(this.#fd, data, BigInt(data.length)),
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
  ): Promise<number> {
    for (;;) {
      const result = Number(call());
      if (result >= 0) return result;
      const errno = lastErrno(this.#libc);
      if (errno === ERRNO.EAGAIN) await this.#wait(events);
      else if (errno !== ERRNO.EINTR) {
        throw errorFromErrno(errno, syscall, this.#path);
      }
    }
  }

  /** Waits on Deno's pool until the descriptor is ready for `events` (or fails: the call says why). */
  async #wait(events: number): Promise<void> {
    const view = new DataView(this.#pollfd.buffer);
    view.setInt16(4, events, true);
    view.setInt16(6, 0, true);
    await trackForeignCall(() => this.#libc.symbols.poll(this.#pollfd, 1n, -1));
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
    return closeDescriptor(this.#libc, this.#fd);
  }
}
