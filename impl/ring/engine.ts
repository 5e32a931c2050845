/**
 * What the two kernel-queue backends (`linux`: native AIO, `uring`: io_uring)
 * share: setting the queue up, opening files for it, submitting and reaping
 * requests, waking on completions and closing. A subclass says how to start
 * its queue, how to describe a request to the kernel, how to submit the queued
 * ones, how to reap and how to stop; the rooms of the engine do the rest:
 *
 * - requests and their slots (`requests.ts`);
 * - when queued requests are submitted (`pacing.ts`: one submission per tick,
 *   `O_DIRECT` ones early, a macrotask now and then so the event loop turns);
 * - the wake on completions that were not reaped inline (`wake_loop.ts`);
 * - the file, and the policies it calls (`ring_file.ts`, `file_setup.ts`,
 *   `policies/`).
 *
 * Memory: the kernel only sees memory the library owns (the backend's own
 * arrays, the buffers `AIOFile` allocates for reads and copies for writes, a
 * caller's memory being staged by `AIOFile`), each held by its request until
 * the completion is reaped; closing waits until every request has come back.
 *
 * @module
 */

import { ERRNO } from "../../ffi/errno.ts";
import {
  addressOf,
  fixedMemory,
  lastErrno,
  type Libc,
} from "../../ffi/libc.ts";
import { PSEUDO_FILE_SYSTEMS } from "../../ffi/statfs.ts";
import {
  failedWith,
  permanently,
  remember,
  type RememberedFailure,
  retryDue,
  type Unavailable,
} from "../availability.ts";
import {
  type Backend,
  type BackendFile,
  type BackendName,
  CannotServe,
  MAX_REQUEST_BYTES,
  type OpenFlags,
  type OpenTarget,
} from "../backend.ts";
import { descriptorOf } from "../descriptor.ts";
import { errorFromErrno } from "../shared/errors.ts";
import { Semaphore } from "../shared/semaphore.ts";
import { POOL_CALLS, ThreadFile } from "../thread.ts";
import type { QueueTuning } from "../tuning.ts";
import { Macrotasks } from "./macrotask.ts";
import { Pacing } from "./pacing.ts";
import { AlignedBuffers } from "./policies/aligned_buffers.ts";
import { whenAborted } from "../shared/abort.ts";
import { fileSetup, fileSystemType } from "./file_setup.ts";
import { RequestTable, type RingOp, type RingRequest } from "./requests.ts";
import { RingFile } from "./ring_file.ts";
import { type CompletionWake, PoolWake, type WakeName } from "./wake.ts";
import { WakeLoop } from "./wake_loop.ts";

export type { RingOp };

const EFD_CLOEXEC = 0o2000000;

/** What one request asks of a queue. */
export interface QueuedRequest {
  readonly op: RingOp;
  readonly fd: number;
  /** The memory the kernel reads or writes: the library's until the request settles. */
  readonly buffer: Uint8Array | undefined;
  readonly offset: number;
  /** Submit with `RWF_NOWAIT` (a queue that would block on a cache miss). */
  readonly nowait: boolean;
  /** The file's path, for errors. */
  readonly path: string;
  /** `O_DIRECT`: the file's alignment (1 otherwise). */
  readonly alignment: number;
  /**
   * Cancels the request when it aborts: one waiting for a slot is dropped;
   * one in the kernel is cancelled there if the queue can
   * ({@linkcode RingBackend.cancelInKernel}), else runs to its end. (A
   * request submitted in this tick is in the kernel by the time an abort
   * can be seen: requests are submitted at the end of the tick.)
   */
  readonly signal?: AbortSignal;
}

/**
 * The `user_data` slot of a cancellation request (`IORING_OP_ASYNC_CANCEL`):
 * no request's slot, since a queue has at most `SLOTS_MAX` slots.
 */
export const CANCEL_SLOT = 0xffff_ffff;

type Setup =
  | { ok: true; wakes: WakeLoop }
  | ({ ok: false } & RememberedFailure);

/** The base of the kernel-queue backends. */
export abstract class RingBackend implements Backend {
  abstract readonly name: BackendName;
  /** Whether buffered reads should carry `RWF_NOWAIT` (a queue that would block on a miss). */
  protected abstract readonly nowaitReads: boolean;
  /**
   * Whether buffered writes to ext4 are done with `pwrite(2)` on this thread
   * rather than queued (a queue that would hand each one to a kernel worker).
   */
  protected abstract readonly inlineWrites: boolean;
  /** The loaded C library. */
  protected readonly libc: Libc;
  /** The queue's tuning. */
  protected readonly tuning: QueueTuning;
  readonly #pool = new Semaphore(POOL_CALLS);
  readonly #requests: RequestTable;
  readonly #pacing: Pacing;
  #setup: Setup | undefined;
  #eventfd = -1;
  readonly #queued: number[] = [];
  /**
   * Requests with a signal submitted by the last flush: those still in the
   * kernel after its reap start following their signal then (most requests
   * complete during their submission, and never need to).
   */
  readonly #toFollow: RingRequest[] = [];
  #inKernel = 0;
  /** Set by `close()`: no new request is taken. */
  #closing: Promise<void> | undefined;
  /** Resolves `close()`'s wait once nothing is queued or in the kernel. */
  #idle: (() => void) | undefined;
  /** Set once the queue is stopped: no view of it is touched again. */
  #closed = false;
  /** Aligned buffers for `O_DIRECT` requests. */
  readonly alignedBuffers: AlignedBuffers;

  /**
   * @param libc The loaded C library.
   * @param tuning The queue's tuning.
   */
  constructor(libc: Libc, tuning: QueueTuning) {
    this.libc = libc;
    this.tuning = tuning;
    this.#requests = new RequestTable(tuning.slots);
    this.#pacing = new Pacing(
      tuning,
      new Macrotasks(() => libc.symbols.pool_hop()),
      () => this.#flush(),
    );
    this.alignedBuffers = new AlignedBuffers((buffer) =>
      addressOf(libc, buffer)
    );
  }

  /**
   * Starts the kernel queue, which signals completions on `eventfd`; returns why
   * it cannot (a string is a permanent failure), or `undefined`. A transient
   * failure is tried again by a later open (impl/availability.ts).
   */
  protected abstract start(eventfd: number): Unavailable | string | undefined;

  /** Describes one request to the kernel in `slot`, ready for {@linkcode submitQueued}. */
  protected abstract prepare(
    slot: number,
    op: RingOp,
    fd: number,
    address: bigint,
    length: number,
    offset: number,
    nowait: boolean,
  ): void;

  /** Submits the queued slots in order; resolves to how many the kernel took, or `-errno` for the first. */
  protected abstract submitQueued(slots: readonly number[]): number;

  /**
   * Calls `complete` for completions ready now, at most `limit` of them;
   * returns true when more may be ready (`limit` or a full batch reaped), so
   * that the caller asks again.
   */
  protected abstract reapReady(
    complete: (slot: number, res: number) => void,
    limit: number,
  ): boolean;

  /** Releases the kernel queue; nothing is in flight any more. */
  protected abstract stop(): void;

  /**
   * The first queued request was refused at submission (the kernel took
   * nothing): takes it out of what the next submission hands the kernel. A
   * queue that builds each batch from the queued slots has nothing to do.
   */
  protected dropFirstQueued(): void {}

  /**
   * Prepares the cancellation of the request in the kernel in `slot`, to be
   * submitted with the next batch under {@linkcode CANCEL_SLOT}; false when
   * the queue cannot cancel (the request then runs to its end).
   */
  protected cancelInKernel(_slot: number): boolean {
    return false;
  }

  /**
   * How completions signalled on `eventfd` wake the JavaScript thread: a read
   * of the eventfd on Deno's pool unless a subclass has better (wake.ts).
   */
  protected createWake(eventfd: number): CompletionWake {
    return new PoolWake(this.libc, eventfd);
  }

  /** The completion wake in use (`undefined` until the queue has started). */
  get wakeName(): WakeName | undefined {
    return this.#setup?.ok ? this.#setup.wakes.wake.name : undefined;
  }

  /** Why this queue must not serve a file of this kind, or `undefined`. */
  protected refuses(info: Deno.FileInfo, fsType: number): string | undefined {
    if (!info.isFile) {
      return "not a regular file (pipes, sockets and devices go to the next backend)";
    }
    const pseudo = PSEUDO_FILE_SYSTEMS.get(fsType);
    return pseudo === undefined ? undefined : `a ${pseudo} file`;
  }

  /**
   * Sets the queue up at the first open. A failure is kept: for good when it
   * is permanent, and for `TRANSIENT_RETRY_MS` when it is transient
   * (EMFILE, ENOMEM, EAGAIN), after which the next open tries again.
   */
  #ensureSetup(): Setup {
    const last = this.#setup;
    if (last !== undefined && (last.ok || !retryDue(last))) return last;
    const eventfd = this.libc.symbols.eventfd(0, EFD_CLOEXEC);
    if (eventfd < 0) {
      const failure = failedWith("eventfd", lastErrno(this.libc));
      return this.#setup = { ok: false, ...remember(failure) };
    }
    const failure = this.start(eventfd);
    if (failure !== undefined) {
      this.libc.symbols.close(eventfd);
      const unavailable = typeof failure === "string"
        ? permanently(failure)
        : failure;
      return this.#setup = { ok: false, ...remember(unavailable) };
    }
    this.#eventfd = eventfd;
    const wakes = new WakeLoop(
      this.createWake(eventfd),
      this.tuning,
      this.#pacing,
      {
        inKernel: () => this.#inKernel,
        closed: () => this.#closed,
        reapReady: (limit) => this.reapReady(this.#completeRef, limit),
        reapAll: () => this.#reap(),
      },
    );
    return this.#setup = { ok: true, wakes };
  }

  async open(target: OpenTarget): Promise<BackendFile> {
    if (target.kind === "fsfile") {
      throw new CannotServe("a Deno.FsFile exposes no file descriptor");
    }
    // Before the file is opened: a file created here (mode x) must not be
    // handed on after it exists.
    const setup = this.#ensureSetup();
    if (!setup.ok) {
      throw new CannotServe(
        setup.reason,
        target.kind === "descriptor" ? target : undefined,
      );
    }
    // One open: a file this queue refuses goes on to the next backend open
    // (a FIFO opened twice would lose what its writer wrote).
    const descriptor = await descriptorOf(this.libc, target);
    const { fd, info } = descriptor;
    try {
      const fsType = fileSystemType(this.libc, fd);
      const refusal = this.refuses(info, fsType);
      if (refusal !== undefined) throw new CannotServe(refusal, descriptor);
      return this.#fileFor(descriptor, fsType);
    } catch (error) {
      if (!(error instanceof CannotServe)) await descriptor.close();
      throw error;
    }
  }

  /** The file of an open descriptor, with the policies that apply to it. */
  #fileFor(
    { path, fd, flags }: { path: string; fd: number; flags: OpenFlags },
    fsType: number,
  ): RingFile {
    const threads = new ThreadFile(this.libc, this.#pool, fd, path);
    const queue = {
      libc: this.libc,
      tuning: this.tuning,
      nowaitReads: this.nowaitReads,
      inlineWrites: this.inlineWrites,
      alignedBuffers: this.alignedBuffers,
    };
    const { policies, alignment, inline } = fileSetup(queue, threads, {
      fd,
      path,
      flags,
      fsType,
    });
    return new RingFile(this, fd, path, threads, policies, {
      alignment,
      inline,
    });
  }

  /**
   * Queues one request; it goes to the kernel with the others of this tick.
   * `buffer` must be owned by the library until the promise settles.
   */
  submit(request: QueuedRequest): Promise<number> {
    if (this.#closing !== undefined) {
      return Promise.reject(
        new Deno.errors.BadResource("The backend is closed"),
      );
    }
    if (request.signal?.aborted) {
      // Woken for a slot and aborted since: the next waiter may have it.
      this.#requests.passOn();
      return Promise.reject(request.signal.reason);
    }
    const slot = this.#requests.take();
    if (slot === undefined) {
      return this.#requests.waitForSlot(request.signal).then(() =>
        this.submit(request)
      );
    }
    const { op, fd, buffer, offset, nowait, signal } = request;
    const length = buffer?.length ?? 0;
    if (length > MAX_REQUEST_BYTES) {
      this.#requests.release(slot);
      // A length past 32 bits would wrap in an SQE: refuse, never truncate.
      return Promise.reject(
        new RangeError(
          `A request of ${length} bytes is larger than ${MAX_REQUEST_BYTES}`,
        ),
      );
    }
    let address = 0n;
    if (length > 0) {
      // A typed array of up to 64 bytes lives on the V8 heap; asking for its
      // buffer moves its memory off the heap, for good, before the kernel sees it.
      void buffer!.buffer;
      address = addressOf(this.libc, buffer!);
    }
    this.prepare(slot, op, fd, address, length, offset, nowait);
    return new Promise<number>((resolve, reject) => {
      const queued: RingRequest = {
        op,
        path: request.path,
        alignment: request.alignment,
        buffer,
        resolve,
        reject,
        signal,
        slot,
        forget: undefined,
      };
      this.#requests.put(slot, queued);
      this.#queued.push(slot);
      if (signal !== undefined) this.#toFollow.push(queued);
      this.#pacing.queued(request.alignment > 1);
    });
  }

  /**
   * The result of work done on this thread (an inline write), delivered as the
   * queue delivers completions: at once, or after a macrotask once completions
   * have resolved in microtasks only for `yieldEveryMs`.
   */
  settleInline(work: () => number): Promise<number> {
    if (this.#closing !== undefined) {
      return Promise.reject(
        new Deno.errors.BadResource("The backend is closed"),
      );
    }
    let result: number;
    try {
      result = work();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#pacing.settle(result);
  }

  /**
   * Submits everything queued (in one call unless the kernel takes part), then
   * reaps. Called at the end of the tick, or early for `O_DIRECT` requests.
   */
  #flush(): void {
    if (this.#closed) return;
    this.#pacing.flushed();
    const queued = this.#queued;
    while (queued.length > 0) {
      const accepted = this.submitQueued(queued);
      if (accepted > 0) {
        this.#inKernel += accepted;
        queued.splice(0, accepted);
      } else {
        // The first request was refused (-errno): it fails alone, and leaves
        // the batch (the kernel must never see it after it failed).
        this.dropFirstQueued();
        this.#inKernel++;
        this.#complete(
          queued.shift()!,
          accepted < 0 ? accepted : -ERRNO.EAGAIN,
        );
      }
    }
    this.#reap();
    if (this.#toFollow.length > 0) this.#followSignals();
    if (this.#setup?.ok) this.#setup.wakes.arm();
    this.#checkIdle();
  }

  /** The requests of the last flush still in the kernel follow their signal. */
  #followSignals(): void {
    for (const request of this.#toFollow.splice(0)) {
      if (this.#requests.get(request.slot) !== request) continue; // over
      const signal = request.signal!;
      const abort = () => this.#abort(request.slot);
      if (signal.aborted) abort();
      else request.forget = whenAborted(signal, abort);
    }
  }

  #checkIdle(): void {
    if (
      this.#idle !== undefined && this.#inKernel === 0 &&
      this.#queued.length === 0
    ) {
      this.#idle();
      this.#idle = undefined;
    }
  }

  readonly #completeRef = (slot: number, res: number) =>
    this.#complete(slot, res);

  #reap(): void {
    while (
      this.#inKernel > 0 && this.reapReady(this.#completeRef, this.tuning.slots)
    ) {
      // a full batch: more may be ready
    }
  }

  /**
   * `signal` of the request in `slot`, in the kernel, aborted: cancels it
   * there where the queue can. A read or a sync rejects with the signal's
   * reason at once; a write settles at its completion, rejected with the
   * reason unless it was over.
   */
  #abort(slot: number): void {
    const request = this.#requests.get(slot);
    if (this.#closed || request === undefined) return;
    if (this.cancelInKernel(slot)) {
      this.#queued.push(CANCEL_SLOT);
      this.#pacing.queued(false);
    }
    // A read or a sync rejects now; the slot keeps its buffer until the
    // completion (which then settles nothing). A write waits for it.
    if (request.op !== "write") request.reject(request.signal!.reason);
  }

  #complete(slot: number, res: number): void {
    this.#inKernel--;
    if (slot === CANCEL_SLOT) {
      // A cancellation's own result: the cancelled request reports its end.
      this.#checkIdle();
      return;
    }
    const request = this.#requests.release(slot);
    this.#checkIdle();
    request.forget?.();
    if (res < 0 && request.signal?.aborted) {
      request.reject(request.signal.reason);
      return;
    }
    if (res >= 0) {
      request.resolve(res);
      return;
    }
    const errno = -res;
    if (errno === ERRNO.EINVAL && request.alignment > 1) {
      request.reject(
        new RangeError(
          `O_DIRECT ${request.op} of '${request.path}' was refused (EINVAL): offsets and lengths must be multiples of ${request.alignment}`,
        ),
      );
      return;
    }
    request.reject(errorFromErrno(errno, request.op, request.path));
  }

  /**
   * Takes no new request, lets the queued ones go in and waits until every
   * request in the kernel has come back (each settles as usual), so no buffer is
   * released while the kernel holds it; then stops the queue. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeWhenIdle();
    return this.#closing;
  }

  async #closeWhenIdle(): Promise<void> {
    if (this.#inKernel > 0 || this.#queued.length > 0) {
      await new Promise<void>((resolve) => this.#idle = resolve);
    }
    this.#closed = true;
    const setup = this.#setup;
    const waiter = setup?.ok ? setup.wakes.waiter : undefined;
    if (waiter !== undefined) {
      // Wake the armed wake: never close the eventfd while a pool thread or
      // the relay's ring reads it. (Between the two stages of a wake, see
      // wakeReapFirst, nothing reads it and the write is not needed; the
      // second stage ends after a macrotask.)
      const one = fixedMemory(BigUint64Array, 8);
      one[0] = 1n;
      this.libc.symbols.write(this.#eventfd, one, 8n);
      await waiter;
    }
    if (setup?.ok) {
      setup.wakes.wake.close();
      this.stop();
      this.libc.symbols.close(this.#eventfd);
    }
    // Requests that waited for a slot never reached the kernel: they retry and
    // are refused, as the backend is closing.
    this.#requests.releaseWaiters();
  }
}
