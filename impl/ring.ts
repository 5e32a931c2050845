/**
 * What the two kernel-queue backends (`linux`: native AIO, `uring`: io_uring)
 * share: request slots, one submission per tick, inline reaping, one eventfd
 * waiter, yielding to the event loop, file routing, `O_DIRECT`, and the file
 * class. A subclass only says how to start its queue, how to describe a request
 * to the kernel, how to submit the queued ones, how to reap, and how to stop.
 *
 * - **Batching.** Requests made in one tick wait in a queue; one submission
 *   takes them all, then the backend reaps at once what is already done
 *   (page-cache hits complete during the submission).
 * - **Completions.** The kernel signals completions on an eventfd. While
 *   requests remain in the kernel, one wake is armed on it (`wake.ts`: a
 *   nonblocking FFI `read()` on Deno's thread pool, or for `uring` a relay to a
 *   pipe that the event loop watches); when it fires, the backend reaps until
 *   nothing is ready and arms it again only if requests remain. An idle process
 *   has nothing armed, so it exits.
 * - **Memory.** The kernel only sees memory the library owns: the backend's own
 *   arrays, and the buffers `AIOFile` allocates for reads and copies for writes,
 *   each held by its request until the completion is reaped (a caller's
 *   buffer for `readInto` is staged by `AIOFile`, src/staging.ts). `O_DIRECT`
 *   requests use an aligned buffer of the backend's, copied in and out and
 *   reused once the request is over (`aligned.ts`).
 * - **`O_DIRECT` submissions** go to the kernel every
 *   {@linkcode DIRECT_SUBMIT_EVERY} requests rather than once per tick, so that
 *   the device starts on them while the tick goes on.
 * - **Fairness.** Completions reaped inline resolve in microtasks; every
 *   {@linkcode YIELD_EVERY_MS} the next submission waits for a macrotask
 *   (`setImmediate`) so timers keep firing.
 *
 * @module
 */

import { Macrotasks } from "./macrotask.ts";
import { MicrotaskBudget } from "./microtask_budget.ts";
import { currentArch } from "../ffi/arch.ts";
import { ERRNO } from "../ffi/errno.ts";
import {
  addressOf,
  FALLOC_FL_KEEP_SIZE,
  fixedMemory,
  lastErrno,
  type Libc,
} from "../ffi/libc.ts";
import { errorFromErrno } from "./shared/errors.ts";
import { Semaphore } from "./shared/semaphore.ts";
import { Preallocation } from "./preallocation.ts";
import { EarlyWriteback } from "./early_writeback.ts";
import {
  type Backend,
  type BackendFile,
  type BackendName,
  CannotServe,
  MAX_REQUEST_BYTES,
  type OpenTarget,
} from "./backend.ts";
import { descriptorOf } from "./descriptor.ts";
import { AlignedBuffers } from "./aligned.ts";
import {
  failedWith,
  permanently,
  remember,
  type RememberedFailure,
  retryDue,
  type Unavailable,
} from "./availability.ts";
import { type CompletionWake, PoolWake, type WakeName } from "./wake.ts";
import { POOL_CALLS, ThreadFile } from "./thread.ts";

/** Requests one backend keeps in the kernel at most (the size of its queue). */
export const SLOTS = 128;

/**
 * `O_DIRECT` requests are submitted as soon as this many are queued, rather than
 * all at the end of the tick. The device works on each submission as a batch and
 * completes it together (on this machine's virtio disk a batch of 32 random 4 KiB
 * reads took 600 µs, one of 8 took 210 µs): a tick that queues 32 requests keeps
 * the device idle while it runs and then hands it one large batch. Submitting
 * every 8 let the device start early and keep several batches going, and made
 * random 4 KiB reads at QD32 about 1.2x as fast with the pool wake, where every
 * 1, 2 or 4 was slower (one `io_uring_enter` or `io_submit` each). With
 * `uring`'s relay wake, every 1 to 32 measured alike (0.77-0.83x of fio, within
 * the noise). Page-cache reads, which complete during the submission, keep one
 * submission per tick.
 */
export const DIRECT_SUBMIT_EVERY = 8;

/**
 * At a wake, this many completions are reaped first. Their callers' next
 * requests are submitted at the end of the microtask checkpoint, and that
 * submission reaps the rest inline (or, if no request came, a macrotask later).
 * The device, idle since it completed the batch, gets work again after a few
 * promise chains rather than after all of them (with a batch of 32 reaped at
 * once, the first new request reached it 30-45 µs after the wake). Random
 * 4 KiB `O_DIRECT` reads at QD32 went from 0.79x to 0.85x of fio's IOPS on
 * `uring` and from 0.77x to 0.80x on `linux` (8-10 alternating rounds each);
 * reaping 1, 2, 3, 6 or 8 first did not help; QD1 and QD128 measured alike.
 */
export const WAKE_REAP_FIRST = 4;

/** How long completions may resolve in microtasks only before a macrotask is let in. */
export const YIELD_EVERY_MS = 1;

/** The operations a kernel queue performs. */
export type RingOp = "read" | "write" | "fsync" | "fdatasync";

const EFD_CLOEXEC = 0o2000000;
const F_GETFL = 3;
const F_SETFL = 4;
const AT_EMPTY_PATH = 0x1000;
const STATX_DIOALIGN = 0x2000;
const PAGE = 4096;

/** `f_type` of ext2, ext3 and ext4, whose buffered writes cannot be issued without blocking. */
const EXT4_SUPER_MAGIC = 0xef53;

/**
 * The largest buffered write done on the JavaScript thread when the backend
 * writes inline: a larger one is queued, so that no single write holds the
 * event loop for long.
 */
export const INLINE_WRITE_MAX = 256 * 1024;

/** `f_type` of file systems whose files are not for kernel queues. */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, "procfs"],
  [0x62656572, "sysfs"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x73636673, "securityfs"],
  [0x27e0eb, "cgroupfs"],
  [0x63677270, "cgroup2fs"],
  [0x62656570, "configfs"],
  [0xcafe4a11, "bpffs"],
  [0x6165676c, "pstorefs"],
  [0xde5e81e4, "efivarfs"],
]);

/** Stores a non-negative safe integer as a little-endian u64 without a BigInt. */
export function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** One request between its submission and its completion. */
interface Request {
  readonly file: RingFile;
  readonly op: RingOp;
  /** The memory the kernel reads or writes: held until the completion is reaped. */
  readonly buffer: Uint8Array | undefined;
  /** Serves the request another way after `-EAGAIN`/`-EOPNOTSUPP` (a miss under `RWF_NOWAIT`). */
  readonly fallback: (() => Promise<number>) | undefined;
  readonly resolve: (result: number) => void;
  readonly reject: (error: unknown) => void;
}

type Setup = { ok: true } | ({ ok: false } & RememberedFailure);

/** The base of the kernel-queue backends. */
export abstract class RingBackend implements Backend {
  abstract readonly name: BackendName;
  /** Whether buffered reads should carry `RWF_NOWAIT` (a queue that would block on a miss). */
  protected abstract readonly nowaitReads: boolean;
  /**
   * Whether buffered writes of up to {@linkcode INLINE_WRITE_MAX} bytes to ext4
   * files are done with `pwrite(2)` on this thread rather than queued (a queue
   * that would hand each one to a kernel worker).
   */
  protected abstract readonly inlineWrites: boolean;
  /** The loaded C library. */
  protected readonly libc: Libc;
  readonly #pool = new Semaphore(POOL_CALLS);
  #setup: Setup | undefined;
  #eventfd = -1;
  readonly #requests: (Request | undefined)[] = new Array(SLOTS);
  readonly #free: number[] = [];
  readonly #slotWaiters: (() => void)[] = [];
  readonly #queued: number[] = [];
  /** How many of the queued requests are `O_DIRECT` ones. */
  #queuedDirect = 0;
  #inKernel = 0;
  #flushPending = false;
  #wake: CompletionWake | undefined;
  /** The armed wake's promise, while armed. */
  #waiter: Promise<void> | undefined;
  readonly #budget = new MicrotaskBudget(YIELD_EVERY_MS);
  readonly #macrotasks: Macrotasks;
  /** Set by `close()`: no new request is taken. */
  #closing: Promise<void> | undefined;
  /** Resolves `close()`'s wait once nothing is queued or in the kernel. */
  #idle: (() => void) | undefined;
  /** Set once the queue is stopped: no view of it is touched again. */
  #closed = false;
  /** Aligned buffers for `O_DIRECT` requests. */
  readonly alignedBuffers: AlignedBuffers;

  /** @param libc The loaded C library. */
  constructor(libc: Libc) {
    this.libc = libc;
    this.#macrotasks = new Macrotasks(() => libc.symbols.pool_hop());
    this.alignedBuffers = new AlignedBuffers((buffer) =>
      addressOf(libc, buffer)
    );
    for (let slot = SLOTS - 1; slot >= 0; slot--) this.#free.push(slot);
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
   * How completions signalled on `eventfd` wake the JavaScript thread: a read
   * of the eventfd on Deno's pool unless a subclass has better (impl/wake.ts).
   */
  protected createWake(eventfd: number): CompletionWake {
    return new PoolWake(this.libc, eventfd);
  }

  /** The completion wake in use (`undefined` until the queue has started). */
  get wakeName(): WakeName | undefined {
    return this.#wake?.name;
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
    this.#wake = this.createWake(eventfd);
    return this.#setup = { ok: true };
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
    const { path, flags, fd, info } = descriptor;
    try {
      const fsType = this.#fileSystemType(fd);
      const refusal = this.refuses(info, fsType);
      if (refusal !== undefined) throw new CannotServe(refusal, descriptor);
      const direct = flags.direct ? this.#directAlignment(fd, path) : undefined;
      const threads = new ThreadFile(this.libc, this.#pool, fd, path);
      return new RingFile(this, fd, path, threads, direct, {
        nowaitReads: this.nowaitReads,
        inlineWrites: this.inlineWrites && fsType === EXT4_SUPER_MAGIC,
        // Only for files this open created or emptied, never for appends:
        // see impl/preallocation.ts.
        preallocate: fsType === EXT4_SUPER_MAGIC && !flags.append &&
          (flags.truncate || flags.createNew),
        // In append mode the kernel, not the offset, says where a write lands.
        earlyWriteback: !flags.append,
      });
    } catch (error) {
      if (!(error instanceof CannotServe)) await descriptor.close();
      throw error;
    }
  }

  #fileSystemType(fd: number): number {
    const statfs = new BigInt64Array(16); // struct statfs is 120 bytes; f_type first
    if (this.libc.symbols.fstatfs(fd, statfs) !== 0) return 0;
    return Number(statfs[0]);
  }

  /** Makes sure the descriptor has `O_DIRECT` and returns the alignment it needs. */
  #directAlignment(
    fd: number,
    path: string,
  ): { memory: number; offset: number } {
    const O_DIRECT = currentArch()!.O_DIRECT;
    const { fcntl, statx } = this.libc.symbols;
    const flags = fcntl(fd, F_GETFL, 0n);
    if (flags >= 0 && (flags & O_DIRECT) === 0) {
      if (fcntl(fd, F_SETFL, BigInt(flags | O_DIRECT)) !== 0) {
        throw errorFromErrno(lastErrno(this.libc), "fcntl", path);
      }
    }
    const buf = new Uint8Array(256);
    const view = new DataView(buf.buffer);
    const empty = fixedMemory(Uint8Array, 1);
    const ok = statx(fd, empty, AT_EMPTY_PATH, STATX_DIOALIGN, buf) === 0 &&
      (view.getUint32(0, true) & STATX_DIOALIGN) !== 0;
    const memory = ok ? view.getUint32(0x98, true) : PAGE;
    const offset = ok ? view.getUint32(0x9c, true) : PAGE;
    if (ok && offset === 0) {
      throw new CannotServe("the file system does not support O_DIRECT here");
    }
    return { memory: Math.max(memory, 1), offset: Math.max(offset, 1) };
  }

  /**
   * Queues one request; it goes to the kernel with the others of this tick.
   * `buffer` must be owned by the library until the promise settles.
   */
  submit(
    file: RingFile,
    op: RingOp,
    buffer: Uint8Array | undefined,
    offset: number,
    nowait: boolean,
    fallback?: () => Promise<number>,
  ): Promise<number> {
    if (this.#closing !== undefined) {
      return Promise.reject(
        new Deno.errors.BadResource("The backend is closed"),
      );
    }
    const slot = this.#free.pop();
    if (slot === undefined) {
      return new Promise<void>((resolve) => this.#slotWaiters.push(resolve))
        .then(() => this.submit(file, op, buffer, offset, nowait, fallback));
    }
    const length = buffer?.length ?? 0;
    if (length > MAX_REQUEST_BYTES) {
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
    this.prepare(slot, op, file.fd, address, length, offset, nowait);
    return new Promise<number>((resolve, reject) => {
      this.#requests[slot] = { file, op, buffer, fallback, resolve, reject };
      this.#queued.push(slot);
      if (
        file.alignment > 1 && ++this.#queuedDirect >= DIRECT_SUBMIT_EVERY &&
        this.#mayStayInMicrotasks()
      ) {
        this.#flush();
      } else {
        this.#scheduleFlush();
      }
    });
  }

  #scheduleFlush(): void {
    if (this.#flushPending) return;
    this.#flushPending = true;
    if (this.#mayStayInMicrotasks()) {
      queueMicrotask(this.#flushNow);
    } else {
      this.#macrotasks.after(this.#flushAfterMacrotask);
    }
  }

  #mayStayInMicrotasks(): boolean {
    return this.#budget.mayContinue();
  }

  /**
   * The result of work done on this thread (an inline write), delivered as the
   * queue delivers completions: at once, or after a macrotask when completions
   * have resolved in microtasks only for {@linkcode YIELD_EVERY_MS}.
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
    if (this.#mayStayInMicrotasks()) return Promise.resolve(result);
    return new Promise((resolve) =>
      this.#macrotasks.after(() => {
        this.#budget.turned();
        resolve(result);
      })
    );
  }

  readonly #flushNow = (): void => {
    this.#flushPending = false;
    this.#flush();
  };

  readonly #flushAfterMacrotask = (): void => {
    this.#flushPending = false;
    this.#budget.turned();
    this.#flush();
  };

  /**
   * Submits everything queued (in one call unless the kernel takes part), then
   * reaps. Called at the end of the tick, or early for `O_DIRECT` requests.
   */
  #flush(): void {
    if (this.#closed) return;
    this.#queuedDirect = 0;
    const queued = this.#queued;
    while (queued.length > 0) {
      const accepted = this.submitQueued(queued);
      if (accepted > 0) {
        this.#inKernel += accepted;
        queued.splice(0, accepted);
      } else {
        // The first request was refused (-errno): it fails alone.
        this.#inKernel++;
        this.#complete(
          queued.shift()!,
          accepted < 0 ? accepted : -ERRNO.EAGAIN,
        );
      }
    }
    this.#reap();
    this.#arm();
    this.#checkIdle();
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
    while (this.#inKernel > 0 && this.reapReady(this.#completeRef, SLOTS)) {
      // a full batch: more may be ready
    }
  }

  #complete(slot: number, res: number): void {
    const request = this.#requests[slot]!;
    this.#requests[slot] = undefined;
    this.#inKernel--;
    this.#free.push(slot);
    this.#slotWaiters.shift()?.();
    this.#checkIdle();
    if (res >= 0) {
      request.resolve(res);
    } else if (
      (res === -ERRNO.EAGAIN || res === -ERRNO.EOPNOTSUPP) &&
      request.fallback !== undefined
    ) {
      if (res === -ERRNO.EOPNOTSUPP) request.file.nowaitUnsupported();
      request.fallback().then(request.resolve, request.reject);
    } else {
      request.reject(this.#error(request, -res));
    }
  }

  #error(request: Request, errno: number): Error {
    const { file, op } = request;
    if (errno === ERRNO.EINVAL && file.alignment > 1) {
      return new RangeError(
        `O_DIRECT ${op} of '${file.path}' was refused (EINVAL): offsets and lengths must be multiples of ${file.alignment}`,
      );
    }
    return errorFromErrno(errno, op, file.path);
  }

  /** Keeps the wake armed while requests remain in the kernel. */
  #arm(): void {
    if (this.#waiter !== undefined || this.#inKernel === 0 || this.#closed) {
      return;
    }
    this.#waiter = this.#wake!.arm().then((): Promise<void> | undefined => {
      this.#budget.turned();
      if (
        this.#closed || this.#inKernel === 0 ||
        !this.reapReady(this.#completeRef, WAKE_REAP_FIRST)
      ) {
        return undefined;
      }
      // More are ready: see WAKE_REAP_FIRST.
      return new Promise<void>((resolve) => this.#macrotasks.after(resolve));
    }).then(() => {
      this.#waiter = undefined;
      if (this.#closed) return;
      this.#reap();
      this.#arm();
    });
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
    if (this.#waiter !== undefined) {
      // Wake the armed wake: never close the eventfd while a pool thread or
      // the relay's ring reads it. (Between the two stages of a wake, see
      // WAKE_REAP_FIRST, nothing reads it and the write is not needed; the
      // second stage ends after a macrotask.)
      const one = fixedMemory(BigUint64Array, 8);
      one[0] = 1n;
      this.libc.symbols.write(this.#eventfd, one, 8n);
      await this.#waiter;
    }
    if (this.#setup?.ok) {
      this.#wake!.close();
      this.stop();
      this.libc.symbols.close(this.#eventfd);
    }
    // Requests that waited for a slot never reached the kernel: they retry and
    // are refused, as the backend is closing.
    for (const wake of this.#slotWaiters.splice(0)) wake();
  }
}

/** A file served by a kernel queue. */
export class RingFile implements BackendFile {
  readonly fd: number;
  readonly path: string;
  readonly endOnShortRead = true;
  /** `O_DIRECT` reads go through aligned buffers of the backend's and are copied. */
  readonly readMemory: "library" | "copied";
  readonly alignment: number;
  readonly #ring: RingBackend;
  readonly #threads: ThreadFile;
  readonly #memoryAlignment: number;
  readonly #inlineWrites: boolean;
  readonly #preallocation: Preallocation | undefined;
  readonly #writeback: EarlyWriteback | undefined;
  #nowait: boolean;

  constructor(
    ring: RingBackend,
    fd: number,
    path: string,
    threads: ThreadFile,
    direct: { memory: number; offset: number } | undefined,
    policies: {
      nowaitReads: boolean;
      inlineWrites: boolean;
      preallocate: boolean;
      earlyWriteback: boolean;
    },
  ) {
    this.#ring = ring;
    this.fd = fd;
    this.path = path;
    this.#threads = threads;
    this.alignment = direct?.offset ?? 1;
    this.readMemory = direct === undefined ? "library" : "copied";
    this.#memoryAlignment = direct?.memory ?? 1;
    this.#nowait = policies.nowaitReads && direct === undefined;
    this.#inlineWrites = policies.inlineWrites && direct === undefined;
    if (policies.preallocate && direct === undefined) {
      this.#preallocation = new Preallocation((range) =>
        threads.fallocateNow(FALLOC_FL_KEEP_SIZE, range)
      );
    }
    if (policies.earlyWriteback && direct === undefined) {
      this.#writeback = new EarlyWriteback((range) =>
        threads.startWriteback(range)?.then((result) => result === 0)
      );
    }
  }

  /** The file system refused `RWF_NOWAIT`: submit buffered reads without it. */
  nowaitUnsupported(): void {
    this.#nowait = false;
  }

  #checkAlignment(op: RingOp, length: number, offset: number): void {
    const a = this.alignment;
    if (offset % a !== 0 || length % a !== 0) {
      throw new RangeError(
        `O_DIRECT ${op} of '${this.path}' at offset ${offset} of ${length} bytes: both must be multiples of ${a}`,
      );
    }
  }

  /** An aligned buffer of the backend's for `O_DIRECT`, given back with {@linkcode RingBackend.alignedBuffers}. */
  #aligned(length: number): Uint8Array {
    return this.#ring.alignedBuffers.take(
      length,
      Math.max(this.#memoryAlignment, PAGE),
    );
  }

  read(into: Uint8Array, offset: number): Promise<number> {
    if (this.alignment !== 1) return this.#readDirect(into, offset);
    return this.#readBuffered(into, offset);
  }

  #readBuffered(into: Uint8Array, offset: number): Promise<number> {
    if (!this.#nowait) {
      return this.#ring.submit(this, "read", into, offset, false);
    }
    return this.#ring.submit(
      this,
      "read",
      into,
      offset,
      true,
      () => this.#threads.read(into, offset),
    ).then((n) =>
      n === 0 || n === into.length
        ? n
        // RWF_NOWAIT stops at the first page not in the cache: the pool reads
        // the rest (0 bytes at the end of the file).
        : this.#threads.read(into.subarray(n), offset + n).then((m) => n + m)
    );
  }

  async #readDirect(into: Uint8Array, offset: number): Promise<number> {
    this.#checkAlignment("read", into.length, offset);
    const bounce = this.#aligned(into.length);
    // Given back once the request is over and its bytes are copied out, whether
    // it succeeded or not (one refused before the kernel saw it is over too).
    try {
      const n = await this.#ring.submit(this, "read", bounce, offset, false);
      into.set(bounce.subarray(0, n));
      return n;
    } finally {
      this.#ring.alignedBuffers.give(bounce);
    }
  }

  writeInline(data: Uint8Array, offset: number): Promise<number> | undefined {
    return this.#inline(data, offset);
  }

  // write() calls this rather than the public writeInline, which callers (and
  // tests observing backend calls) may wrap.
  #inline(data: Uint8Array, offset: number): Promise<number> | undefined {
    if (!this.#inlineWrites || data.length > INLINE_WRITE_MAX) return undefined;
    return this.#ring.settleInline(() => {
      this.#preallocation?.beforeWrite(offset, data.length);
      const written = this.#writeAllNow(data, offset);
      this.#preallocation?.wrote(offset, written);
      this.#writeback?.wrote(offset, written);
      return written;
    });
  }

  /** `pwrite(2)` on this thread until every byte is written. */
  #writeAllNow(data: Uint8Array, offset: number): number {
    let done = 0;
    while (done < data.length) {
      const n = this.#threads.writeNow(data.subarray(done), offset + done);
      if (n <= 0) throw errorFromErrno(ERRNO.EIO, "write", this.path);
      done += n;
    }
    return done;
  }

  write(data: Uint8Array, offset: number): Promise<number> {
    const inline = this.#inline(data, offset);
    if (inline !== undefined) return inline;
    if (this.alignment === 1) {
      const preallocation = this.#preallocation;
      const writeback = this.#writeback;
      if (preallocation === undefined && writeback === undefined) {
        return this.#ring.submit(this, "write", data, offset, false);
      }
      preallocation?.beforeWrite(offset, data.length);
      // Counted now, in call order: queued writes may complete out of order.
      writeback?.wrote(offset, data.length);
      const writing = this.#ring.submit(this, "write", data, offset, false);
      if (preallocation === undefined) return writing;
      return writing.then((n) => {
        preallocation.wrote(offset, n);
        return n;
      });
    }
    try {
      this.#checkAlignment("write", data.length, offset);
    } catch (error) {
      return Promise.reject(error);
    }
    const bounce = this.#aligned(data.length);
    bounce.set(data);
    return this.#ring.submit(this, "write", bounce, offset, false).finally(() =>
      this.#ring.alignedBuffers.give(bounce)
    );
  }

  async fsync(): Promise<void> {
    await this.#ring.submit(
      this,
      "fsync",
      undefined,
      0,
      false,
      () => this.#threads.fsync().then(() => 0),
    );
  }

  async fdatasync(): Promise<void> {
    await this.#ring.submit(
      this,
      "fdatasync",
      undefined,
      0,
      false,
      () => this.#threads.fdatasync().then(() => 0),
    );
  }

  async truncate(length: number): Promise<void> {
    await this.#threads.truncate(length);
    this.#preallocation?.truncated(length);
    this.#writeback?.truncated(length);
  }

  size(): Promise<number> {
    return this.#threads.size();
  }

  stat(): Promise<Deno.FileInfo> {
    return this.#threads.stat();
  }

  async close(): Promise<void> {
    // A writeback call on the pool still uses the descriptor.
    await this.#writeback?.stop();
    this.#giveBackReserved();
    await this.#threads.close(); // the descriptor they share
  }

  /**
   * Cuts the file to its own size when blocks were reserved past its end (see
   * impl/preallocation.ts), so that it takes no more space than it holds. Both
   * calls are made now, back to back. The file's contents do not depend on
   * it: a failure is ignored.
   */
  #giveBackReserved(): void {
    if (this.#preallocation?.reserved !== true) return;
    let size: number;
    try {
      size = this.#threads.statNow().size;
    } catch {
      return;
    }
    if (this.#preallocation.shouldTrim(size)) this.#threads.truncateNow(size);
  }
}
