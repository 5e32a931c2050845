/**
 * Why a backend cannot be used, and whether that is for good. A permanent answer
 * (ENOSYS, EPERM, io_uring disabled by sysctl, permission or library missing,
 * wrong OS) is remembered for the life of the process; a transient one (EMFILE,
 * ENFILE, ENOMEM, EAGAIN: descriptors, memory or AIO contexts running out for a
 * while) only for {@linkcode TRANSIENT_RETRY_MS}, after which the next context or
 * file open tries again.
 *
 * @module
 */

import { ERRNO } from "../ffi/errno.ts";
import { errorFromErrno } from "./shared/errors.ts";

/**
 * How long a transient failure is remembered: a storm of opens while
 * descriptors run out asks the kernel again at most this often, and the first
 * open this long after the failure tries again.
 */
export const TRANSIENT_RETRY_MS = 200;

/** Why a backend cannot be used now. */
export interface Unavailable {
  /** What failed, for messages (a transient reason says it is temporary). */
  readonly reason: string;
  /** False when a later attempt may succeed (EMFILE, ENFILE, ENOMEM, EAGAIN). */
  readonly permanent: boolean;
}

/** Whether `errno` says "not now" rather than "never": EMFILE, ENFILE, ENOMEM or EAGAIN. */
export function isTransientErrno(errno: number): boolean {
  return errno === ERRNO.EMFILE || errno === ERRNO.ENFILE ||
    errno === ERRNO.ENOMEM ||
    errno === ERRNO.EAGAIN;
}

/** The note a transient reason carries. */
const TEMPORARY_NOTE = `temporary: tried again after ${TRANSIENT_RETRY_MS} ms`;

/** A failure that will not go away in this process. */
export function permanently(reason: string): Unavailable {
  return { reason, permanent: true };
}

/** A failure that may go away: its reason says so. */
export function temporarily(reason: string): Unavailable {
  return { reason: `${reason} (${TEMPORARY_NOTE})`, permanent: false };
}

/**
 * `call` failed with `errno`: transient or permanent according to the errno,
 * described as `"<call> failed: <CODE>"`.
 */
export function failedWith(call: string, errno: number): Unavailable {
  const code = (errorFromErrno(errno, call) as Error & { code: string }).code;
  const reason = `${call} failed: ${code}`;
  return isTransientErrno(errno) ? temporarily(reason) : permanently(reason);
}

/** A failure and when it may be tried again (`Infinity` when permanent). */
export interface RememberedFailure extends Unavailable {
  /** The `performance.now()` from which a new attempt is made. */
  readonly retryAt: number;
}

/** Remembers `failure`: for good when it is permanent, otherwise for {@linkcode TRANSIENT_RETRY_MS}. */
export function remember(
  failure: Unavailable,
  now: number = performance.now(),
): RememberedFailure {
  return {
    ...failure,
    retryAt: failure.permanent ? Infinity : now + TRANSIENT_RETRY_MS,
  };
}

/** Whether a remembered failure may be tried again now (never for a permanent one). */
export function retryDue(
  failure: RememberedFailure,
  now: () => number = () => performance.now(),
): boolean {
  return !failure.permanent && now() >= failure.retryAt;
}

/**
 * The answer of a probe, asked on demand: a success or a permanent failure is
 * kept for good, a transient failure until {@linkcode TRANSIENT_RETRY_MS} has
 * passed. Cheap to ask again: the probe runs only when no answer is kept.
 */
export class RememberedProbe {
  readonly #probe: () => Unavailable | undefined;
  readonly #now: () => number;
  /** `null` until the first probe; `undefined` once it succeeded. */
  #answer: RememberedFailure | undefined | null = null;

  /**
   * @param probe Tries the backend: why it cannot be used, or `undefined`.
   * @param now The clock (milliseconds), for tests.
   */
  constructor(
    probe: () => Unavailable | undefined,
    now: () => number = () => performance.now(),
  ) {
    this.#probe = probe;
    this.#now = now;
  }

  /** Why the backend cannot be used, or `undefined`; probes only when no answer is kept. */
  get(): Unavailable | undefined {
    const answer = this.#answer;
    if (answer === undefined) return undefined;
    if (answer !== null && !retryDue(answer, this.#now)) return answer;
    const failure = this.#probe();
    this.#answer = failure === undefined
      ? undefined
      : remember(failure, this.#now());
    return this.#answer;
  }
}

/** A library that failed to load: transient when `dlopen` ran out of descriptors or memory. */
export function loadFailure(
  failure: { readonly reason: string; readonly transient?: boolean },
): Unavailable {
  return failure.transient === true
    ? temporarily(failure.reason)
    : permanently(failure.reason);
}
