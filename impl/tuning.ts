/**
 * The knobs of the kernel-queue backends (`uring`, `linux`), in one place.
 * Each default is what measured best on the machines the library was tuned
 * on (the figures are in docs/performance.md); a context can set its own
 * (`createContext({ tuning })`), for a device or a workload of its own.
 *
 * @module
 */

/**
 * How a kernel queue paces and shapes its work.
 *
 * @example A queue that writes nothing on the JavaScript thread
 * ```ts
 * import { createContext, type QueueTuning } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const tuning: Partial<QueueTuning> = { inlineWriteMax: 0 };
 * await using context = createContext({ tuning });
 * assert.equal(context.tuning.inlineWriteMax, 0);
 * ```
 */
export interface QueueTuning {
  /** The most requests one queue keeps in the kernel (the size of its ring). */
  readonly slots: number;
  /**
   * `O_DIRECT` requests go to the kernel as soon as this many are queued,
   * rather than all at the end of the tick: the device starts on the first
   * while the tick goes on (a device completes each submission as a batch).
   */
  readonly directSubmitEvery: number;
  /**
   * At a wake, this many completions are reaped first: their callers' next
   * requests reach the kernel before the rest are reaped, so an idle device
   * gets work again sooner.
   */
  readonly wakeReapFirst: number;
  /**
   * How long completions may resolve in microtasks only (requests reaped
   * right after they are submitted) before a macrotask is let in, so that
   * timers and I/O callbacks keep running.
   */
  readonly yieldEveryMs: number;
  /**
   * Buffered writes to ext4 of up to this many bytes are done on the
   * JavaScript thread (queued, each would go to a kernel worker); 0 queues
   * every write.
   */
  readonly inlineWriteMax: number;
  /**
   * Files an open created or emptied, written in sequence, get disk blocks
   * reserved ahead of their writes on ext4 (`fallocate` keeping the size).
   */
  readonly preallocation: boolean;
  /**
   * A run of sequential buffered writes starts the writeback of what it
   * wrote as it goes (`sync_file_range`), so a final `fsync` waits for less.
   */
  readonly earlyWriteback: boolean;
}

/**
 * The default {@linkcode QueueTuning}.
 *
 * @example The defaults, frozen
 * ```ts
 * import { DEFAULT_TUNING } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_TUNING.slots, 128);
 * assert.ok(Object.isFrozen(DEFAULT_TUNING));
 * ```
 */
export const DEFAULT_TUNING: QueueTuning = Object.freeze({
  slots: 128,
  directSubmitEvery: 8,
  wakeReapFirst: 4,
  yieldEveryMs: 1,
  inlineWriteMax: 256 * 1024,
  preallocation: true,
  earlyWriteback: true,
});

/**
 * The most slots a queue may have: io_uring rings and AIO contexts are kernel
 * memory, and the system-wide AIO limit (`fs.aio-max-nr`) is 65536 events.
 */
export const SLOTS_MAX = 4096;

/**
 * `DEFAULT_TUNING` with `changes`, each checked (a positive integer, or a
 * boolean).
 *
 * @throws {TypeError|RangeError} for an unknown name or a bad value.
 */
export function tuningWith(
  changes: Partial<QueueTuning> | undefined,
): QueueTuning {
  if (changes === undefined) return DEFAULT_TUNING;
  if (typeof changes !== "object" || changes === null) {
    throw new TypeError(`tuning must be an object, got ${String(changes)}`);
  }
  const tuning: Record<string, number | boolean> = { ...DEFAULT_TUNING };
  for (const [name, value] of Object.entries(changes)) {
    const current = (DEFAULT_TUNING as unknown as Record<string, unknown>)[
      name
    ];
    if (current === undefined) {
      throw new TypeError(
        `Unknown tuning ${JSON.stringify(name)}: use one of ${
          Object.keys(DEFAULT_TUNING).join(", ")
        }`,
      );
    }
    if (typeof current === "boolean") {
      if (typeof value !== "boolean") {
        throw new TypeError(`tuning.${name} must be a boolean, got ${value}`);
      }
    } else {
      const least = name === "inlineWriteMax" || name === "yieldEveryMs"
        ? 0
        : 1;
      const most = name === "slots" ? SLOTS_MAX : Number.MAX_SAFE_INTEGER;
      if (
        typeof value !== "number" || !Number.isSafeInteger(value) ||
        value < least || value > most
      ) {
        throw new RangeError(
          `tuning.${name} must be an integer from ${least} to ${most}, got ${value}`,
        );
      }
    }
    tuning[name] = value;
  }
  return Object.freeze(tuning) as unknown as QueueTuning;
}
