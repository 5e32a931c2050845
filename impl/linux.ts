/**
 * The `linux` backend: Linux native AIO (libaio, or the same system calls
 * through libc's `syscall()`), submitted and reaped on the JavaScript thread.
 * The queue machinery it shares with `uring` is in `ring/engine.ts`; this file says how
 * native AIO starts, describes, submits and reaps requests.
 *
 * - Every iocb carries `IOCB_FLAG_RESFD` and the backend's eventfd.
 * - A buffered read that misses the page cache would run synchronously inside
 *   `io_submit`, so buffered reads carry `RWF_NOWAIT`: a miss completes at once
 *   with `-EAGAIN` and that request is served by the thread pool instead.
 * - Buffered writes are submitted without it: on ext4 `RWF_NOWAIT` writes always
 *   fail with `-EOPNOTSUPP`, and an inline write costs a fraction of a trip
 *   through the thread pool (docs/performance.md, "Inline buffered writes").
 *
 * @module
 */

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
  type Libc,
  loadLibc,
  setU64,
} from "../ffi/libc.ts";
import { ERRNO } from "../ffi/errno.ts";
import { errorFromErrno } from "./shared/errors.ts";
import type { Backend } from "./backend.ts";
import {
  failedWith,
  isTransientErrno,
  loadFailure,
  permanently,
  RememberedProbe,
  temporarily,
  type Unavailable,
} from "./availability.ts";
import { RingBackend, type RingOp } from "./ring/engine.ts";
import { DEFAULT_TUNING, type QueueTuning } from "./tuning.ts";

const OPCODES: Record<RingOp, number> = {
  read: IOCB_CMD.PREAD,
  write: IOCB_CMD.PWRITE,
  fsync: IOCB_CMD.FSYNC,
  fdatasync: IOCB_CMD.FDSYNC,
};

/** The `linux` backend. */
export class LinuxBackend extends RingBackend {
  readonly name = "linux" as const;
  protected readonly nowaitReads = true;
  /** `io_submit` already copies a buffered write in, inline. */
  protected readonly inlineWrites = false;
  readonly #aio: AioCalls;
  #ctx = 0n;
  readonly #iocbs = new Uint8Array(this.tuning.slots * IOCB.SIZE);
  readonly #iocbView = new DataView(this.#iocbs.buffer);
  #iocbBase = 0n;
  readonly #submitList = new BigUint64Array(this.tuning.slots);
  readonly #events = new Uint8Array(this.tuning.slots * IO_EVENT.SIZE);
  readonly #eventView = new DataView(this.#events.buffer);
  readonly #noTimeout = fixedMemory(BigInt64Array, 16); // struct timespec {0, 0}

  /**
   * @param libc The loaded C library.
   * @param aio The AIO calls (libaio, or raw system calls).
   * @param tuning The queue's tuning.
   */
  constructor(libc: Libc, aio: AioCalls, tuning: QueueTuning = DEFAULT_TUNING) {
    super(libc, tuning);
    this.#aio = aio;
  }

  /** Where the AIO calls go: `"libaio"` or `"syscall"`. */
  get via(): "libaio" | "syscall" {
    return this.#aio.via;
  }

  protected start(eventfd: number): Unavailable | undefined {
    const ctxp = fixedMemory(BigUint64Array, 8);
    const result = this.#aio.setup(this.tuning.slots, ctxp);
    if (result < 0) {
      const error = errorFromErrno(-result, "io_setup") as Error & {
        code: string;
      };
      const reason = `io_setup failed: ${error.code} (${error.message})`;
      // EAGAIN: fs.aio-max-nr is used up by the contexts of this and other
      // processes, which may release theirs.
      return isTransientErrno(-result)
        ? temporarily(reason)
        : permanently(reason);
    }
    this.#ctx = ctxp[0];
    this.#iocbBase = addressOf(this.libc, this.#iocbs);
    for (let slot = 0; slot < this.tuning.slots; slot++) {
      const base = slot * IOCB.SIZE;
      this.#iocbView.setUint32(base + IOCB.flags, IOCB_FLAG_RESFD, true);
      this.#iocbView.setUint32(base + IOCB.resfd, eventfd, true);
    }
    return undefined;
  }

  protected prepare(
    slot: number,
    op: RingOp,
    fd: number,
    address: bigint,
    length: number,
    offset: number,
    nowait: boolean,
  ): void {
    const iocb = this.#iocbView;
    const base = slot * IOCB.SIZE;
    setU64(iocb, base + IOCB.data, slot);
    iocb.setUint32(base + IOCB.rwFlags, nowait ? RWF.NOWAIT : 0, true);
    iocb.setUint16(base + IOCB.opcode, OPCODES[op], true);
    iocb.setUint32(base + IOCB.fd, fd, true);
    iocb.setBigUint64(base + IOCB.buf, address, true);
    setU64(iocb, base + IOCB.nbytes, length);
    setU64(iocb, base + IOCB.offset, offset);
  }

  protected submitQueued(slots: readonly number[]): number {
    const count = Math.min(slots.length, this.tuning.slots);
    for (let i = 0; i < count; i++) {
      this.#submitList[i] = this.#iocbBase + BigInt(slots[i] * IOCB.SIZE);
    }
    return this.#aio.submit(this.#ctx, count, this.#submitList);
  }

  protected reapReady(
    complete: (slot: number, res: number) => void,
    limit: number,
  ): boolean {
    const most = Math.min(limit, this.tuning.slots);
    const n = this.#aio.getEvents(
      this.#ctx,
      0,
      most,
      this.#events,
      this.#noTimeout,
    );
    for (let i = 0; i < n; i++) {
      const base = i * IO_EVENT.SIZE;
      // aio_data is a slot number; res fits in 32 bits (I/O is capped at
      // 0x7ffff000 bytes, errors are small): the low words say it all.
      complete(
        this.#eventView.getUint32(base + IO_EVENT.data, true),
        this.#eventView.getInt32(base + IO_EVENT.res, true),
      );
    }
    return n === most;
  }

  protected stop(): void {
    this.#aio.destroy(this.#ctx); // waits for anything still in the kernel
  }
}

/**
 * Whether the AIO system calls can be used in this process: `undefined`, or
 * why not. It asks for a context of no requests, which a kernel with AIO
 * refuses with `EINVAL` before it allocates anything (setting a context up and
 * destroying it takes tens of milliseconds). Any other answer means no AIO:
 * `ENOSYS` where the kernel has none or an emulator does not implement the
 * calls (qemu-user does not), `EPERM` under a seccomp filter.
 */
export function aioProbe(aio: AioCalls): Unavailable | undefined {
  const ctxp = fixedMemory(BigUint64Array, 8);
  const result = aio.setup(0, ctxp);
  if (result === 0) aio.destroy(ctxp[0]); // not what Linux does, but harmless
  if (result === 0 || result === -ERRNO.EINVAL) return undefined;
  return failedWith("io_setup", -result);
}

/** The probe's answer: a success or permanent failure for good, a transient one for a while. */
let probed: RememberedProbe | undefined;

/** Prefer raw system calls over libaio (`AIOFILE_LIBAIO=0`, read only when env permission is granted). */
function preferLibaio(): boolean {
  const permission = Deno.permissions.querySync({
    name: "env",
    variable: "AIOFILE_LIBAIO",
  });
  return permission.state !== "granted" ||
    Deno.env.get("AIOFILE_LIBAIO") !== "0";
}

/**
 * Describes the `linux` backend: needs Linux, FFI permission and AIO system
 * calls that answer (see {@linkcode aioProbe}).
 */
export const linuxProvider = {
  name: "linux" as const,
  /** Why the backend cannot be used now, and whether for good. */
  unavailability(): Unavailable | undefined {
    if (Deno.build.os !== "linux") {
      return permanently(`needs Linux (this is ${Deno.build.os})`);
    }
    const libc = loadLibc();
    if (!libc.ok) return loadFailure(libc);
    const aio = loadAio(libc.library, preferLibaio());
    if (!aio.ok) return loadFailure(aio);
    const calls = aio.calls;
    probed ??= new RememberedProbe(() => aioProbe(calls));
    return probed.get();
  },
  unavailableReason(): string | undefined {
    return linuxProvider.unavailability()?.reason;
  },
  create(tuning: QueueTuning = DEFAULT_TUNING): Backend {
    const libc = loadLibc();
    if (!libc.ok) throw new Error(libc.reason);
    const aio = loadAio(libc.library, preferLibaio());
    if (!aio.ok) throw new Error(aio.reason);
    return new LinuxBackend(libc.library, aio.calls, tuning);
  },
};
