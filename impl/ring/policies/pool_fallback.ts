/**
 * The thread-pool fallback of a queue that would block on a cache miss (the
 * `linux` backend: a buffered read that misses the page cache runs inside
 * `io_submit`). Buffered reads carry `RWF_NOWAIT`: a miss completes at once
 * with `EAGAIN`, and that read goes to the pool (`pread(2)` on Deno's
 * thread pool) instead; a read that stopped at the first page not in the
 * cache has the rest read there. A file system that refuses `RWF_NOWAIT`
 * (`EOPNOTSUPP`) has its reads submitted without it from then on. Syncs the
 * queue cannot take go to the pool too.
 *
 * @module
 */

import type { ThreadFile } from "../../thread.ts";
import type { FilePolicy, ReadStep, SyncStep } from "./policy.ts";

/** Whether `error` is the queue's answer for a request it would not do now. */
function refusedNow(error: unknown): "again" | "unsupported" | undefined {
  const code = (error as { code?: unknown })?.code;
  return code === "EAGAIN"
    ? "again"
    : code === "EOPNOTSUPP"
    ? "unsupported"
    : undefined;
}

/** The pool fallback of one file. */
export class PoolFallback implements FilePolicy {
  readonly #threads: ThreadFile;
  #nowait: boolean;

  /**
   * @param threads The file on Deno's thread pool (the same descriptor).
   * @param nowaitReads Whether buffered reads carry `RWF_NOWAIT`.
   */
  constructor(threads: ThreadFile, nowaitReads: boolean) {
    this.#threads = threads;
    this.#nowait = nowaitReads;
  }

  read(
    into: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
    next: ReadStep,
  ): Promise<number> {
    if (!this.#nowait) return next(into, offset, signal);
    return next(into, offset, signal, true).then(
      (n) =>
        n === 0 || n === into.length
          ? n
          // RWF_NOWAIT stops at the first page not in the cache: the pool
          // reads the rest (0 bytes at the end of the file).
          : this.#threads.read(into.subarray(n), offset + n, signal).then((
            m,
          ) => n + m),
      (error) => {
        const refused = refusedNow(error);
        if (refused === undefined) throw error;
        if (refused === "unsupported") this.#nowait = false;
        return this.#threads.read(into, offset, signal);
      },
    );
  }

  sync(
    data: boolean,
    signal: AbortSignal | undefined,
    next: SyncStep,
  ): Promise<void> {
    return next(data, signal).catch((error) => {
      if (refusedNow(error) === undefined) throw error;
      return data
        ? this.#threads.fdatasync(signal)
        : this.#threads.fsync(signal);
    });
  }
}
