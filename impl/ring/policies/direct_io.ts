/**
 * `O_DIRECT`: the alignment a file's requests need (from `statx`'s
 * `STATX_DIOALIGN`, a page where the kernel does not say), and the aligned
 * buffers of the backend's that every request goes through, since the memory
 * `AIOFile` gives is not aligned: reads are copied out, writes copied in.
 *
 * @module
 */

import { currentArch } from "../../../ffi/arch.ts";
import { lastErrno, type Libc } from "../../../ffi/libc.ts";
import { STATX, STATX_LAYOUT, statxOf } from "../../../ffi/statx.ts";
import { CannotServe } from "../../backend.ts";
import { errorFromErrno } from "../../shared/errors.ts";
import type { AlignedBuffers } from "./aligned_buffers.ts";
import type { FilePolicy, ReadStep, WriteStep } from "./policy.ts";

const F_GETFL = 3;
const F_SETFL = 4;
const PAGE = 4096;

/** The alignments an `O_DIRECT` file needs. */
export interface DirectAlignment {
  /** Of the memory a request reads or writes. */
  readonly memory: number;
  /** Of offsets and lengths. */
  readonly offset: number;
}

/**
 * Makes sure the descriptor has `O_DIRECT` and returns the alignment it needs.
 *
 * @throws {CannotServe} when the file system does not support `O_DIRECT`
 * here.
 */
export function directAlignment(
  libc: Libc,
  fd: number,
  path: string,
): DirectAlignment {
  const O_DIRECT = currentArch()!.O_DIRECT;
  const { fcntl } = libc.symbols;
  const flags = fcntl(fd, F_GETFL, 0n);
  if (flags >= 0 && (flags & O_DIRECT) === 0) {
    if (fcntl(fd, F_SETFL, BigInt(flags | O_DIRECT)) !== 0) {
      throw errorFromErrno(lastErrno(libc), "fcntl", path);
    }
  }
  const buffer = new Uint8Array(new ArrayBuffer(STATX_LAYOUT.SIZE));
  const view = new DataView(buffer.buffer);
  const known = statxOf(libc.symbols, fd, buffer, STATX.DIOALIGN) === 0 &&
    (view.getUint32(STATX_LAYOUT.mask, true) & STATX.DIOALIGN) !== 0;
  const memory = known ? view.getUint32(STATX_LAYOUT.dioMemAlign, true) : PAGE;
  const offset = known
    ? view.getUint32(STATX_LAYOUT.dioOffsetAlign, true)
    : PAGE;
  if (known && offset === 0) {
    throw new CannotServe("the file system does not support O_DIRECT here");
  }
  return { memory: Math.max(memory, 1), offset: Math.max(offset, 1) };
}

/** The `O_DIRECT` policy of one file. */
export class DirectIo implements FilePolicy {
  readonly #alignment: DirectAlignment;
  readonly #buffers: AlignedBuffers;
  readonly #path: string;

  /**
   * @param alignment What the file needs.
   * @param buffers The backend's aligned buffers.
   * @param path The file's path, for errors.
   */
  constructor(
    alignment: DirectAlignment,
    buffers: AlignedBuffers,
    path: string,
  ) {
    this.#alignment = alignment;
    this.#buffers = buffers;
    this.#path = path;
  }

  async read(
    into: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
    next: ReadStep,
  ): Promise<number> {
    this.#check("read", into.length, offset);
    const aligned = this.#take(into.length);
    // Given back once the request is over and its bytes are copied out,
    // whether it succeeded or not (one refused before the kernel saw it is
    // over too).
    try {
      const n = await next(aligned, offset, signal);
      signal?.throwIfAborted(); // `into` may be the caller's: not after an abort
      into.set(aligned.subarray(0, n));
      return n;
    } finally {
      // After an abort the kernel may still hold it: never reuse it.
      if (!signal?.aborted) this.#buffers.give(aligned);
    }
  }

  write(
    data: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
    next: WriteStep,
  ): Promise<number> {
    try {
      this.#check("write", data.length, offset);
    } catch (error) {
      return Promise.reject(error);
    }
    const aligned = this.#take(data.length);
    aligned.set(data);
    return next(aligned, offset, signal).finally(() =>
      this.#buffers.give(aligned)
    );
  }

  #take(length: number): Uint8Array {
    return this.#buffers.take(length, Math.max(this.#alignment.memory, PAGE));
  }

  #check(op: string, length: number, offset: number): void {
    const a = this.#alignment.offset;
    if (offset % a !== 0 || length % a !== 0) {
      throw new RangeError(
        `O_DIRECT ${op} of '${this.#path}' at offset ${offset} of ${length} bytes: both must be multiples of ${a}`,
      );
    }
  }
}
