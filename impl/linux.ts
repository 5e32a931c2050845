/**
 * The `linux` backend: Linux native AIO (libaio, or the same system calls
 * through libc's `syscall()`), submitted and reaped on the JavaScript thread.
 *
 * - **Batching.** Requests made in one tick wait in a queue; one `io_submit`
 *   takes them all, then `io_getevents` with a zero timeout reaps at once what
 *   is already done (page-cache hits complete inside `io_submit`).
 * - **Completions.** Every iocb carries `IOCB_FLAG_RESFD` and the backend's
 *   eventfd. While requests remain in the kernel, one nonblocking FFI `read()` of
 *   that eventfd waits on Deno's thread pool; when it returns, the backend reaps
 *   until the ring is empty and waits again only if requests remain. An idle
 *   process has no call parked, so it exits.
 * - **Never blocking the event loop.** A buffered read that misses the page
 *   cache would run synchronously inside `io_submit`, so buffered reads carry
 *   `RWF_NOWAIT`: a miss completes at once with `-EAGAIN` and that request is
 *   served by the thread pool instead.
 * - **Memory.** The kernel only sees memory the library owns: the iocb and
 *   event arrays here, and the buffers `AIOFile` allocates for reads and copies
 *   for writes, each held by its request until the completion is reaped.
 *   `O_DIRECT` requests use an aligned buffer of the backend's, copied in and out.
 * - **Fairness.** Completions reaped inline resolve in microtasks; every
 *   {@linkcode YIELD_EVERY_MS} the next submission waits for a macrotask
 *   (`setImmediate`) so timers keep firing.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  type AioCalls,
  IO_EVENT,
  IOCB,
  IOCB_CMD,
  IOCB_FLAG_RESFD,
  loadAio,
  RWF,
} from "../ffi/libaio.ts";
import {
  addressOf,
  fixedMemory,
  lastErrno,
  type Libc,
  loadLibc,
} from "../ffi/libc.ts";
import { currentArch } from "../ffi/arch.ts";
import { errorFromErrno } from "../src/errors.ts";
import { Semaphore } from "../src/semaphore.ts";
import {
  type Backend,
  type BackendFile,
  CannotServe,
  type OpenTarget,
} from "./backend.ts";
import {
  closeDescriptor,
  openDescriptor,
  posixOpenFlags,
  statDescriptor,
} from "./descriptor.ts";
import { trackForeignCall } from "./pending.ts";
import { POOL_CALLS, ThreadFile } from "./thread.ts";

/** Requests one backend keeps in the kernel at most (the size given to `io_setup`). */
export const SLOTS = 128;

/** How long completions may resolve in microtasks only before a macrotask is let in. */
export const YIELD_EVERY_MS = 1;

const EAGAIN = 11;
const EINVAL = 22;
const EOPNOTSUPP = 95;
const EFD_CLOEXEC = 0o2000000;
const F_GETFL = 3;
const F_SETFL = 4;
const AT_EMPTY_PATH = 0x1000;
const STATX_DIOALIGN = 0x2000;
const PAGE = 4096;

/** `f_type` of file systems whose files native AIO must not be given. */
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
function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** One request between its submission and its completion. */
interface Request {
  readonly file: LinuxFile;
  readonly syscall: string;
  /** The memory the kernel reads or writes: held until the completion is reaped. */
  readonly buffer: Uint8Array | undefined;
  /** Serves the request another way after `-EAGAIN` (a cache miss under `RWF_NOWAIT`). */
  readonly fallback: (() => Promise<number>) | undefined;
  readonly resolve: (result: number) => void;
  readonly reject: (error: unknown) => void;
}

/** Why native AIO cannot start in this process, or `undefined` once it has. */
type Setup = { ok: true; ctx: bigint } | { ok: false; reason: string };

/** The `linux` backend. */
export class LinuxBackend implements Backend {
  readonly name = "linux" as const;
  readonly #libc: Libc;
  readonly #aio: AioCalls;
  readonly #pool = new Semaphore(POOL_CALLS);
  #setup: Setup | undefined;
  #eventfd = -1;
  readonly #iocbs = new Uint8Array(SLOTS * IOCB.SIZE);
  readonly #iocbView = new DataView(this.#iocbs.buffer);
  #iocbBase = 0n;
  readonly #submitList = new BigUint64Array(SLOTS);
  readonly #events = new Uint8Array(SLOTS * IO_EVENT.SIZE);
  readonly #eventView = new DataView(this.#events.buffer);
  readonly #noTimeout = fixedMemory(BigInt64Array, 16); // struct timespec {0, 0}
  readonly #requests: (Request | undefined)[] = new Array(SLOTS);
  readonly #free: number[] = [];
  readonly #slotWaiters: (() => void)[] = [];
  readonly #queued: number[] = [];
  #inKernel = 0;
  #flushPending = false;
  #waiter: Promise<void> | undefined;
  /** The eventfd count, written by the waiter on a pool thread. */
  readonly #counter = fixedMemory(BigUint64Array, 8);
  #lastMacrotask = performance.now();
  #closed = false;

  /**
   * @param libc The loaded C library.
   * @param aio The AIO calls (libaio, or raw system calls).
   */
  constructor(libc: Libc, aio: AioCalls) {
    this.#libc = libc;
    this.#aio = aio;
    for (let slot = SLOTS - 1; slot >= 0; slot--) this.#free.push(slot);
  }

  /** The address of a buffer (kept referenced by the caller while the kernel uses it). */
  addressOf(buffer: Uint8Array): bigint {
    return addressOf(this.#libc, buffer);
  }

  /** Where the AIO calls go: `"libaio"` or `"syscall"`. */
  get via(): "libaio" | "syscall" {
    return this.#aio.via;
  }

  /** Requests in the kernel right now. */
  get inKernel(): number {
    return this.#inKernel;
  }

  /** Sets up the AIO context and the eventfd on first use; remembers a failure. */
  #ensureSetup(): Setup {
    if (this.#setup !== undefined) return this.#setup;
    const ctxp = fixedMemory(BigUint64Array, 8);
    const result = this.#aio.setup(SLOTS, ctxp);
    if (result < 0) {
      const error = errorFromErrno(-result, "io_setup") as Error & {
        code: string;
      };
      this.#setup = {
        ok: false,
        reason: `io_setup failed: ${error.code} (${error.message})`,
      };
      return this.#setup;
    }
    const eventfd = this.#libc.symbols.eventfd(0, EFD_CLOEXEC);
    if (eventfd < 0) {
      this.#aio.destroy(ctxp[0]);
      const errno = lastErrno(this.#libc);
      this.#setup = { ok: false, reason: `eventfd failed: errno ${errno}` };
      return this.#setup;
    }
    this.#eventfd = eventfd;
    this.#iocbBase = addressOf(this.#libc, this.#iocbs);
    for (let slot = 0; slot < SLOTS; slot++) {
      this.#iocbView.setUint32(
        slot * IOCB.SIZE + IOCB.flags,
        IOCB_FLAG_RESFD,
        true,
      );
      this.#iocbView.setUint32(slot * IOCB.SIZE + IOCB.resfd, eventfd, true);
    }
    this.#setup = { ok: true, ctx: ctxp[0] };
    return this.#setup;
  }

  async open(target: OpenTarget): Promise<BackendFile> {
    if (target.kind === "fsfile") {
      throw new CannotServe("a Deno.FsFile exposes no file descriptor");
    }
    // Before the file is opened: a file created here (mode x) must not be
    // handed on after it exists.
    const setup = this.#ensureSetup();
    if (!setup.ok) throw new CannotServe(setup.reason);
    const { path, flags } = target;
    const fd = await openDescriptor(path, posixOpenFlags(flags));
    try {
      const stats = await statDescriptor(fd);
      if (stats.isDirectory()) throw errorFromErrno(21, "open", path);
      if (!stats.isFile()) {
        throw new CannotServe(
          "not a regular file (pipes, sockets and devices are not for native AIO)",
        );
      }
      const fsType = this.#fileSystemType(fd);
      const pseudo = PSEUDO_FILE_SYSTEMS.get(fsType);
      if (pseudo !== undefined) {
        throw new CannotServe(`a ${pseudo} file (not for native AIO)`);
      }
      const alignment = flags.direct
        ? this.#directAlignment(fd, path)
        : undefined;
      const threads = new ThreadFile(this.#libc, this.#pool, fd, path);
      return new LinuxFile(this, fd, path, threads, alignment);
    } catch (error) {
      await closeDescriptor(fd);
      throw error;
    }
  }

  #fileSystemType(fd: number): number {
    const statfs = new BigInt64Array(16); // struct statfs is 120 bytes; f_type first
    if (this.#libc.symbols.fstatfs(fd, statfs) !== 0) return 0;
    return Number(statfs[0]);
  }

  /** Makes sure the descriptor has `O_DIRECT` and returns the alignment it needs. */
  #directAlignment(
    fd: number,
    path: string,
  ): { memory: number; offset: number } {
    const O_DIRECT = currentArch()!.O_DIRECT;
    const { fcntl, statx } = this.#libc.symbols;
    const flags = fcntl(fd, F_GETFL, 0n);
    if (flags >= 0 && (flags & O_DIRECT) === 0) {
      if (fcntl(fd, F_SETFL, BigInt(flags | O_DIRECT)) !== 0) {
        throw errorFromErrno(lastErrno(this.#libc), "fcntl", path);
      }
    }
    const buf = new Uint8Array(256);
    const view = new DataView(buf.buffer);
    const ok = statx(
          fd,
          fixedMemory(Uint8Array, 1),
          AT_EMPTY_PATH,
          STATX_DIOALIGN,
          buf,
        ) === 0 &&
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
    file: LinuxFile,
    syscall: string,
    opcode: number,
    buffer: Uint8Array | undefined,
    offset: number,
    rwFlags: number,
    fallback?: () => Promise<number>,
  ): Promise<number> {
    if (this.#closed) {
      return Promise.reject(
        new Deno.errors.BadResource("The backend is closed"),
      );
    }
    const slot = this.#free.pop();
    if (slot === undefined) {
      return new Promise<void>((resolve) => this.#slotWaiters.push(resolve))
        .then(() =>
          this.submit(file, syscall, opcode, buffer, offset, rwFlags, fallback)
        );
    }
    const base = slot * IOCB.SIZE;
    const iocb = this.#iocbView;
    setU64(iocb, base + IOCB.data, slot);
    iocb.setUint32(base + IOCB.rwFlags, rwFlags, true);
    iocb.setUint16(base + IOCB.opcode, opcode, true);
    iocb.setUint32(base + IOCB.fd, file.fd, true);
    const length = buffer?.length ?? 0;
    if (length > 0) {
      // A typed array of up to 64 bytes lives on the V8 heap; asking for its
      // buffer moves its memory off the heap, for good, before the kernel sees it.
      void buffer!.buffer;
      iocb.setBigUint64(base + IOCB.buf, addressOf(this.#libc, buffer!), true);
    } else {
      setU64(iocb, base + IOCB.buf, 0);
    }
    setU64(iocb, base + IOCB.nbytes, length);
    setU64(iocb, base + IOCB.offset, offset);
    return new Promise<number>((resolve, reject) => {
      this.#requests[slot] = {
        file,
        syscall,
        buffer,
        fallback,
        resolve,
        reject,
      };
      this.#queued.push(slot);
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushPending) return;
    this.#flushPending = true;
    if (performance.now() - this.#lastMacrotask < YIELD_EVERY_MS) {
      queueMicrotask(() => this.#flush());
    } else {
      setImmediate(() => {
        this.#lastMacrotask = performance.now();
        this.#flush();
      });
    }
  }

  /** Submits everything queued (one `io_submit` unless the kernel takes part), then reaps. */
  #flush(): void {
    this.#flushPending = false;
    const setup = this.#setup;
    if (setup === undefined || !setup.ok) return;
    const queued = this.#queued;
    while (queued.length > 0) {
      const count = queued.length;
      for (let i = 0; i < count; i++) {
        this.#submitList[i] = this.#iocbBase + BigInt(queued[i] * IOCB.SIZE);
      }
      const accepted = this.#aio.submit(setup.ctx, count, this.#submitList);
      if (accepted > 0) {
        this.#inKernel += accepted;
        queued.splice(0, accepted);
      } else {
        // The first iocb was refused (-errno): that request fails alone.
        this.#inKernel++;
        this.#complete(queued.shift()!, accepted < 0 ? accepted : -EAGAIN);
      }
    }
    this.#reap();
    this.#arm();
  }

  /** Takes every completion that is ready, without waiting. */
  #reap(): void {
    const setup = this.#setup;
    if (setup === undefined || !setup.ok) return;
    while (this.#inKernel > 0) {
      const n = this.#aio.getEvents(
        setup.ctx,
        0,
        SLOTS,
        this.#events,
        this.#noTimeout,
      );
      if (n <= 0) return;
      for (let i = 0; i < n; i++) {
        const base = i * IO_EVENT.SIZE;
        // aio_data is a slot number; res fits in 32 bits (I/O is capped at
        // 0x7ffff000 bytes, errors are small): the low words say it all.
        const slot = this.#eventView.getUint32(base + IO_EVENT.data, true);
        const res = this.#eventView.getInt32(base + IO_EVENT.res, true);
        this.#complete(slot, res);
      }
      if (n < SLOTS) return;
    }
  }

  #complete(slot: number, res: number): void {
    const request = this.#requests[slot]!;
    this.#requests[slot] = undefined;
    this.#inKernel--;
    this.#free.push(slot);
    this.#slotWaiters.shift()?.();
    if (res >= 0) {
      request.resolve(res);
    } else if (
      (res === -EAGAIN || res === -EOPNOTSUPP) && request.fallback !== undefined
    ) {
      if (res === -EOPNOTSUPP) request.file.nowaitUnsupported();
      request.fallback().then(request.resolve, request.reject);
    } else {
      request.reject(this.#error(request, -res));
    }
  }

  #error(request: Request, errno: number): Error {
    const { file, syscall } = request;
    if (errno === EINVAL && file.alignment > 1) {
      return new RangeError(
        `O_DIRECT ${syscall} of '${file.path}' was refused (EINVAL): offsets and lengths must be multiples of ${file.alignment}`,
      );
    }
    return errorFromErrno(errno, syscall, file.path);
  }

  /** Keeps one waiter on the eventfd while requests remain in the kernel. */
  #arm(): void {
    if (this.#waiter !== undefined || this.#inKernel === 0 || this.#closed) {
      return;
    }
    const { read_wait } = this.#libc.symbols;
    this.#waiter = trackForeignCall(() =>
      read_wait(this.#eventfd, this.#counter, 8n)
    )
      .then(() => {
        this.#waiter = undefined;
        this.#lastMacrotask = performance.now();
        if (this.#closed) return;
        this.#reap();
        this.#arm();
      });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const setup = this.#setup;
    if (this.#waiter !== undefined) {
      // Wake the waiter: never close the eventfd while a pool thread reads it.
      const one = fixedMemory(BigUint64Array, 8);
      one[0] = 1n;
      this.#libc.symbols.write(this.#eventfd, one, 8n);
      await this.#waiter;
    }
    if (setup?.ok) {
      this.#aio.destroy(setup.ctx); // waits for anything still in the kernel
      this.#libc.symbols.close(this.#eventfd);
    }
    for (let slot = 0; slot < SLOTS; slot++) {
      const request = this.#requests[slot];
      if (request === undefined) continue;
      this.#requests[slot] = undefined;
      request.reject(new Deno.errors.BadResource("The backend was closed"));
    }
  }
}

class LinuxFile implements BackendFile {
  readonly fd: number;
  readonly path: string;
  readonly endOnShortRead = true;
  readonly alignment: number;
  readonly #backend: LinuxBackend;
  readonly #threads: ThreadFile;
  readonly #memoryAlignment: number;
  #readFlags: number = RWF.NOWAIT;

  constructor(
    backend: LinuxBackend,
    fd: number,
    path: string,
    threads: ThreadFile,
    direct: { memory: number; offset: number } | undefined,
  ) {
    this.#backend = backend;
    this.fd = fd;
    this.path = path;
    this.#threads = threads;
    this.alignment = direct?.offset ?? 1;
    this.#memoryAlignment = direct?.memory ?? 1;
    if (direct !== undefined) this.#readFlags = 0;
  }

  /** The file system refused `RWF_NOWAIT`: submit buffered reads without it. */
  nowaitUnsupported(): void {
    this.#readFlags = 0;
  }

  #checkAlignment(what: string, length: number, offset: number): void {
    const a = this.alignment;
    if (offset % a !== 0 || length % a !== 0) {
      throw new RangeError(
        `O_DIRECT ${what} of '${this.path}' at offset ${offset} of ${length} bytes: both must be multiples of ${a}`,
      );
    }
  }

  /** An aligned buffer of the backend's for `O_DIRECT`, and the view of `length` bytes in it. */
  #aligned(length: number): Uint8Array {
    const align = Math.max(this.#memoryAlignment, PAGE);
    const raw = new Uint8Array(length + align);
    const address = Number(this.#backend.addressOf(raw) % BigInt(align));
    const start = address === 0 ? 0 : align - address;
    return raw.subarray(start, start + length);
  }

  async read(into: Uint8Array, offset: number): Promise<number> {
    if (this.alignment === 1) {
      const flags = this.#readFlags;
      const n = await this.#backend.submit(
        this,
        "read",
        IOCB_CMD.PREAD,
        into,
        offset,
        flags,
        () => this.#threads.read(into, offset),
      );
      if (n === 0 || n === into.length || flags !== RWF.NOWAIT) return n;
      // RWF_NOWAIT stops at the first page not in the cache: the pool reads
      // the rest (0 bytes at the end of the file).
      return n + await this.#threads.read(into.subarray(n), offset + n);
    }
    this.#checkAlignment("read", into.length, offset);
    const bounce = this.#aligned(into.length);
    const n = await this.#backend.submit(
      this,
      "read",
      IOCB_CMD.PREAD,
      bounce,
      offset,
      0,
    );
    into.set(bounce.subarray(0, n));
    return n;
  }

  write(data: Uint8Array, offset: number): Promise<number> {
    if (this.alignment === 1) {
      return this.#backend.submit(
        this,
        "write",
        IOCB_CMD.PWRITE,
        data,
        offset,
        0,
      );
    }
    try {
      this.#checkAlignment("write", data.length, offset);
    } catch (error) {
      return Promise.reject(error);
    }
    const bounce = this.#aligned(data.length);
    bounce.set(data);
    return this.#backend.submit(
      this,
      "write",
      IOCB_CMD.PWRITE,
      bounce,
      offset,
      0,
    );
  }

  async fsync(): Promise<void> {
    await this.#backend.submit(
      this,
      "fsync",
      IOCB_CMD.FSYNC,
      undefined,
      0,
      0,
      () => this.#threads.fsync().then(() => 0),
    );
  }

  async fdatasync(): Promise<void> {
    await this.#backend.submit(
      this,
      "fdatasync",
      IOCB_CMD.FDSYNC,
      undefined,
      0,
      0,
      () => this.#threads.fdatasync().then(() => 0),
    );
  }

  truncate(length: number): Promise<void> {
    return this.#threads.truncate(length);
  }

  size(): Promise<number> {
    return this.#threads.size();
  }

  close(): Promise<void> {
    return closeDescriptor(this.fd);
  }
}

/** Prefer raw system calls over libaio (`AIOFILE_LIBAIO=0`, read only when env permission is granted). */
function preferLibaio(): boolean {
  const permission = Deno.permissions.querySync({
    name: "env",
    variable: "AIOFILE_LIBAIO",
  });
  return permission.state !== "granted" ||
    Deno.env.get("AIOFILE_LIBAIO") !== "0";
}

/** Describes the `linux` backend: needs Linux, FFI permission and the AIO system calls. */
export const linuxProvider = {
  name: "linux" as const,
  unavailableReason(): string | undefined {
    if (Deno.build.os !== "linux") {
      return `needs Linux (this is ${Deno.build.os})`;
    }
    const libc = loadLibc();
    if (!libc.ok) return libc.reason;
    const aio = loadAio(libc.library, preferLibaio());
    return aio.ok ? undefined : aio.reason;
  },
  create(): Backend {
    const libc = loadLibc();
    if (!libc.ok) throw new Error(libc.reason);
    const aio = loadAio(libc.library, preferLibaio());
    if (!aio.ok) throw new Error(aio.reason);
    return new LinuxBackend(libc.library, aio.calls);
  },
};
