/**
 * Early writeback for files written in sequence: the bookkeeping, without the
 * system call (a file backend supplies it).
 *
 * Buffered writes only fill the page cache; the kernel writes the pages to disk
 * later (after 30 s, or when dirty memory passes a threshold), and an `fsync`
 * waits for all that is still dirty. A long sequential write followed by
 * `fsync` thus runs in two phases, copying then writing back, one after the
 * other. Starting the writeback of each range behind the writes
 * (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which queues the pages for the
 * disk and returns) overlaps the two, and the final `fsync` has little left to
 * wait for (figures: docs/performance.md, "Early writeback"). It also keeps
 * dirty memory low, so a writer is not throttled by the kernel.
 * PostgreSQL (`*_flush_after`) and RocksDB (`bytes_per_sync`) do the same.
 *
 * What it costs: pages written early are written even if the file is deleted
 * or rewritten soon after, where the kernel might have dropped them unwritten.
 * Only runs of sequential writes of {@linkcode WRITEBACK_STEP} bytes or more are
 * concerned; random and short writes are left to the kernel. Writes that may
 * complete out of order are counted when they are submitted, in call order
 * (the pages of a write still in flight are then left to the final `fsync`). A
 * call is made only when a turn of the pool is free, never making reads or
 * syncs wait (the bytes wait for the next write), and a file whose file system
 * refuses the call gets no more.
 *
 * @module
 */

import type { FileRange } from "./preallocation.ts";
import type { FilePolicy, WriteStep } from "./policy.ts";

/** A sequential run starts the writeback of each this many bytes it writes. */
export const WRITEBACK_STEP = 2 * 2 ** 20;

/**
 * Decides when to start the writeback of what a file's sequential writes have
 * written, and keeps one such call at a time.
 *
 * @example
 * ```ts ignore
 * const writeback = new EarlyWriteback((range) => syncFileRangeOnPool(range));
 * writeback.wrote(offset, length); // with each write, in call order
 * await writeback.stop(); // before the descriptor closes
 * ```
 */
export class EarlyWriteback {
  readonly #start: (range: FileRange) => Promise<boolean> | undefined;
  /** Where the current run of sequential writes ends (-1: no run). */
  #runEnd = -1;
  /** Where the run's bytes not yet handed to writeback start. */
  #pendingFrom = 0;
  /** The writeback call running, if any. */
  #running: Promise<void> | undefined;
  #stopped = false;

  /**
   * @param start Starts the writeback of a range (it must not wait for the
   * disk): resolves to false when the file system refuses (then no more is
   * started for the file); returns `undefined` when it cannot start now (the
   * range waits for the next write). A failure is ignored: errors of the
   * writeback itself are reported by the next `fsync`, as for any buffered
   * write.
   */
  constructor(start: (range: FileRange) => Promise<boolean> | undefined) {
    this.#start = start;
  }

  /**
   * Call once per write, in the order the writes were made: after a write
   * done at once, or as it is submitted for a write that may complete out of
   * order (a run is a run of calls).
   */
  wrote(offset: number, length: number): void {
    if (length <= 0) return;
    if (offset !== this.#runEnd) this.#pendingFrom = offset;
    this.#runEnd = offset + length;
    this.#startIfDue();
  }

  /**
   * Call after the file was truncated to `length`: what was cut away has
   * nothing to write back, and the next write starts a new run.
   */
  truncated(length: number): void {
    if (length < this.#runEnd) this.#runEnd = -1;
  }

  #startIfDue(): void {
    if (
      this.#stopped || this.#running !== undefined || this.#runEnd < 0 ||
      this.#runEnd - this.#pendingFrom < WRITEBACK_STEP
    ) {
      return;
    }
    const range = {
      offset: this.#pendingFrom,
      length: this.#runEnd - this.#pendingFrom,
    };
    const started = this.#start(range);
    if (started === undefined) return; // busy: the next write tries again
    this.#pendingFrom = this.#runEnd;
    this.#running = started.then(
      (accepted) => {
        if (!accepted) this.#stopped = true;
      },
      () => {},
    ).then(() => {
      this.#running = undefined;
      // What the run wrote while this call ran.
      this.#startIfDue();
    });
  }

  /**
   * Starts no more writeback and resolves once no call is running, so that the
   * file's descriptor can be closed. Idempotent.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    while (this.#running !== undefined) await this.#running;
  }
}

/**
 * The early-writeback policy of one file: each write is counted in call order
 * (after it is done on this thread, or as it is queued: queued writes may
 * complete out of order), and the file's close waits for the call in flight,
 * which still uses its descriptor.
 */
export class EarlyWritebackPolicy implements FilePolicy {
  readonly #writeback: EarlyWriteback;

  /** @param start Starts the writeback of a range (see {@linkcode EarlyWriteback}). */
  constructor(start: (range: FileRange) => Promise<boolean> | undefined) {
    this.#writeback = new EarlyWriteback(start);
  }

  write(
    data: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
    next: WriteStep,
  ): Promise<number> {
    const writing = next(data, offset, signal);
    this.#writeback.wrote(offset, data.length);
    return writing;
  }

  truncated(length: number): void {
    this.#writeback.truncated(length);
  }

  close(): Promise<void> {
    return this.#writeback.stop();
  }
}
