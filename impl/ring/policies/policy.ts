/**
 * The one interface through which a file of a kernel queue calls its
 * policies: the ways it does part of its work (`O_DIRECT` alignment, the
 * thread-pool fallback of `RWF_NOWAIT` reads, preallocation, early writeback).
 * Each is a small object in a file of its own, chosen per file when it opens
 * (and switchable per context through `QueueTuning`).
 *
 * A policy sees each call with the next step: the policies after it, then the
 * queue. It may change the call (an aligned buffer), watch it (a write's
 * range), or serve it another way (the pool), and calls `next` for the rest.
 *
 * @module
 */

/**
 * The next step of a read; `nowait` submits it with `RWF_NOWAIT`. `signal`
 * (here and in the other steps) is the caller's, passed on by every policy
 * (see `BackendFile.read`).
 */
export type ReadStep = (
  into: Uint8Array,
  offset: number,
  signal: AbortSignal | undefined,
  nowait?: boolean,
) => Promise<number>;

/** The next step of a write. */
export type WriteStep = (
  data: Uint8Array,
  offset: number,
  signal: AbortSignal | undefined,
) => Promise<number>;

/** The next step of a sync (`fdatasync(2)` when `data`, else `fsync(2)`). */
export type SyncStep = (
  data: boolean,
  signal: AbortSignal | undefined,
) => Promise<void>;

/** A policy of one file of a kernel queue; every hook is optional. */
export interface FilePolicy {
  /** A read of `into` at `offset`. */
  read?(
    into: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
    next: ReadStep,
  ): Promise<number>;
  /** A write of `data` at `offset`, queued or done on this thread. */
  write?(
    data: Uint8Array,
    offset: number,
    signal: AbortSignal | undefined,
    next: WriteStep,
  ): Promise<number>;
  /** A sync. */
  sync?(
    data: boolean,
    signal: AbortSignal | undefined,
    next: SyncStep,
  ): Promise<void>;
  /** The file was truncated to `length` bytes. */
  truncated?(length: number): void;
  /** The file is closing: its last request is over, its descriptor still open. */
  close?(): Promise<void> | void;
}

/** The reads of a file: its policies' `read` hooks in order, then `last`. */
export function readChain(
  policies: readonly FilePolicy[],
  last: ReadStep,
): ReadStep {
  let step = last;
  for (const policy of [...policies].reverse()) {
    if (policy.read === undefined) continue;
    const next = step;
    // A policy's own read takes no `nowait`: only the queue does.
    step = (into, offset, signal) => policy.read!(into, offset, signal, next);
  }
  return step;
}

/** The writes of a file: its policies' `write` hooks in order, then `last`. */
export function writeChain(
  policies: readonly FilePolicy[],
  last: WriteStep,
): WriteStep {
  let step = last;
  for (const policy of [...policies].reverse()) {
    if (policy.write === undefined) continue;
    const next = step;
    step = (data, offset, signal) => policy.write!(data, offset, signal, next);
  }
  return step;
}

/** The syncs of a file: its policies' `sync` hooks in order, then `last`. */
export function syncChain(
  policies: readonly FilePolicy[],
  last: SyncStep,
): SyncStep {
  let step = last;
  for (const policy of [...policies].reverse()) {
    if (policy.sync === undefined) continue;
    const next = step;
    step = (data, signal) => policy.sync!(data, signal, next);
  }
  return step;
}
