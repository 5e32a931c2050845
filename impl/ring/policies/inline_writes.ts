/**
 * Inline writes: buffered writes to ext4 of up to `inlineWriteMax` bytes are
 * done with `pwrite(2)` on the JavaScript thread rather than queued. ext4
 * cannot take a buffered write without blocking, so io_uring hands a queued
 * one to a kernel worker, which costs more than the copy into the page cache
 * it does (docs/performance.md); `io_submit` does such writes inline itself.
 * A write that must wait for writeback to make room waits on this thread.
 * Larger writes, writes to other file systems (XFS and btrfs take async
 * buffered writes; NFS and FUSE would block) and `O_DIRECT` writes are queued.
 *
 * @module
 */

import { ERRNO } from "../../../ffi/errno.ts";
import { errorFromErrno } from "../../shared/errors.ts";
import type { ThreadFile } from "../../thread.ts";

/** Inline writes of one file. */
export class InlineWrites {
  readonly #threads: ThreadFile;
  readonly #max: number;
  readonly #path: string;

  /**
   * @param threads The file's calls on this thread.
   * @param max The largest write done inline.
   * @param path The file's path, for errors.
   */
  constructor(threads: ThreadFile, max: number, path: string) {
    this.#threads = threads;
    this.#max = max;
    this.#path = path;
  }

  /** Whether a write of `length` bytes is done inline. */
  takes(length: number): boolean {
    return length <= this.#max;
  }

  /** `pwrite(2)` on this thread until every byte is written; the bytes written. */
  writeNow(data: Uint8Array, offset: number): number {
    let done = 0;
    while (done < data.length) {
      const n = this.#threads.writeNow(data.subarray(done), offset + done);
      if (n <= 0) throw errorFromErrno(ERRNO.EIO, "write", this.#path);
      done += n;
    }
    return done;
  }
}
