/**
 * Speculative preallocation for files written in sequence: the bookkeeping,
 * without the system calls (a file backend supplies those).
 *
 * On ext4, a buffered write into blocks that `fallocate(FALLOC_FL_KEEP_SIZE)`
 * has already reserved costs less than one that must reserve its own blocks
 * (delayed allocation does that page by page; figures: docs/performance.md,
 * "Preallocation"). fio preallocates by default for the same reason. XFS does
 * the same on its own and trims on close; this does it for ext4.
 *
 * A run of writes, each starting where the last one ended, that reaches
 * {@linkcode PREALLOCATE_AFTER} bytes gets blocks reserved ahead of it, as many
 * as the run has written, up to {@linkcode PREALLOCATE_STEP_MAX}. Reserving
 * keeps the file's size: what was reserved and not written stays past the end
 * of the file, taking space, until the file is cut to its own size before it
 * closes (`ftruncate` to the same size gives such blocks back on ext4;
 * punching a hole past the end does nothing there).
 *
 * Cutting a file to the size just read races with another writer extending it
 * in between, so it is done only when that is not expected: the backend
 * reserves only for files it created or truncated on open, not in append mode,
 * and cuts only when the file ends exactly where this file's writes ended.
 *
 * @module
 */

import type { FilePolicy, WriteStep } from "./policy.ts";

/** A run of sequential writes gets blocks reserved once it is this long. */
export const PREALLOCATE_AFTER = 2 ** 20;

/** At most this many bytes are reserved ahead of a run. */
export const PREALLOCATE_STEP_MAX = 8 * 2 ** 20;

/** A range of a file. */
export interface FileRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * What to reserve before each write of one file, and whether to give the rest
 * back when it closes.
 *
 * @example
 * ```ts ignore
 * const preallocation = new Preallocation((range) => reserve(range));
 * preallocation.beforeWrite(offset, data.length); // before each write
 * preallocation.wrote(offset, written); // after it
 * if (preallocation.shouldTrim(size)) ftruncate(fd, size); // before close
 * ```
 */
export class Preallocation {
  readonly #reserve: (range: FileRange) => boolean;
  #runStart = 0;
  #runEnd = -1;
  #reservedEnd = 0;
  /** The end of the furthest write done. */
  #writtenEnd = 0;
  #stopped = false;

  /**
   * @param reserve Reserves blocks for a range without changing the file's
   * size; false when it cannot (then nothing more is reserved for the file).
   */
  constructor(reserve: (range: FileRange) => boolean) {
    this.#reserve = reserve;
  }

  /** Call before writing `length` bytes at `offset`. */
  beforeWrite(offset: number, length: number): void {
    if (offset !== this.#runEnd) this.#runStart = offset;
    const end = offset + length;
    this.#runEnd = end;
    const run = end - this.#runStart;
    if (this.#stopped || run < PREALLOCATE_AFTER || end <= this.#reservedEnd) {
      return;
    }
    const from = Math.max(offset, this.#reservedEnd);
    const to = end + Math.min(PREALLOCATE_STEP_MAX, run);
    if (this.#reserve({ offset: from, length: to - from })) {
      this.#reservedEnd = to;
    } else {
      this.#stopped = true;
    }
  }

  /** Call after `length` bytes were written at `offset` (what a write did). */
  wrote(offset: number, length: number): void {
    this.#writtenEnd = Math.max(this.#writtenEnd, offset + length);
  }

  /**
   * Call after the file was truncated to `length`, which is now where it ends:
   * cut shorter, what lay past it is gone; made longer, what is reserved past
   * the new end is still there.
   */
  truncated(length: number): void {
    if (length < this.#writtenEnd) {
      this.#reservedEnd = Math.min(this.#reservedEnd, length);
    }
    this.#writtenEnd = length;
    this.#runEnd = -1;
  }

  /**
   * True when the file, now `size` bytes long, holds blocks reserved past its
   * end and ends where the writes seen here ended (no one else wrote past
   * them): then it should be cut to `size` before it closes.
   */
  shouldTrim(size: number): boolean {
    return this.#reservedEnd > size && this.#writtenEnd === size;
  }

  /** True once anything was reserved past what was written. */
  get reserved(): boolean {
    return this.#reservedEnd > this.#writtenEnd;
  }
}

/**
 * The preallocation policy of one file: reserves ahead of its sequential
 * writes, and cuts it to its own size when it closes with blocks reserved
 * past its end (both calls made back to back; the file's contents do not
 * depend on it, so a failure is ignored).
 */
export class PreallocationPolicy implements FilePolicy {
  readonly #preallocation: Preallocation;
  readonly #sizeNow: () => number;
  readonly #truncateNow: (length: number) => void;

  /**
   * @param reserve Reserves a range (`fallocate` keeping the size); false when
   * the file system refuses.
   * @param sizeNow The file's size, now.
   * @param truncateNow Cuts the file, now.
   */
  constructor(
    reserve: (range: FileRange) => boolean,
    sizeNow: () => number,
    truncateNow: (length: number) => void,
  ) {
    this.#preallocation = new Preallocation(reserve);
    this.#sizeNow = sizeNow;
    this.#truncateNow = truncateNow;
  }

  write(
    data: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
    next: WriteStep,
  ): Promise<number> {
    this.#preallocation.beforeWrite(offset, data.length);
    return next(data, offset, signal).then((n) => {
      this.#preallocation.wrote(offset, n);
      return n;
    });
  }

  truncated(length: number): void {
    this.#preallocation.truncated(length);
  }

  close(): void {
    if (!this.#preallocation.reserved) return;
    let size: number;
    try {
      size = this.#sizeNow();
    } catch {
      return;
    }
    if (this.#preallocation.shouldTrim(size)) this.#truncateNow(size);
  }
}
