/**
 * Linux native AIO: libaio's `io_setup`, `io_destroy`, `io_submit` and
 * `io_getevents`, or the same system calls through libc's `syscall()` where
 * `libaio.so.1` is not installed. Both are wrapped to the libaio convention:
 * a negative result is `-errno`.
 *
 * The structures (`struct iocb`, 64 bytes; `struct io_event`, 32 bytes) have the
 * same layout on x86_64 and aarch64; their offsets are below.
 *
 * @module
 */

import { currentArch } from "./arch.ts";
import { lastErrno, type Libc, libcPaths } from "./libc.ts";
import { loadLibrary } from "./load.ts";

/** The symbols of `libaio.so.1`. */
export const LIBAIO_SYMBOLS = {
  io_setup: {
    parameters: [
      "i32", // int maxevents
      "buffer", // io_context_t *ctxp
    ],
    result: "i32", // int (0 or -errno)
  },
  io_destroy: {
    parameters: [
      "u64", // io_context_t ctx
    ],
    result: "i32", // int (0 or -errno)
  },
  io_submit: {
    parameters: [
      "u64", // io_context_t ctx
      "i64", // long nr
      "buffer", // struct iocb **iocbpp
    ],
    result: "i32", // int (iocbs accepted, or -errno)
  },
  io_getevents: {
    parameters: [
      "u64", // io_context_t ctx
      "i64", // long min_nr
      "i64", // long nr
      "buffer", // struct io_event *events
      "buffer", // struct timespec *timeout
    ],
    result: "i32", // int (events, or -errno)
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The same calls through libc's `syscall()` (returns -1 and sets `errno`). */
export const AIO_SYSCALL_SYMBOLS = {
  sys_io_setup: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "u32", // unsigned nr_events
      "buffer", // aio_context_t *ctxp
    ],
    result: "i64", // long
  },
  sys_io_destroy: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "u64", // aio_context_t ctx
    ],
    result: "i64", // long
  },
  sys_io_submit: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "u64", // aio_context_t ctx
      "i64", // long nr
      "buffer", // struct iocb **iocbpp
    ],
    result: "i64", // long
  },
  sys_io_getevents: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "u64", // aio_context_t ctx
      "i64", // long min_nr
      "i64", // long nr
      "buffer", // struct io_event *events
      "buffer", // struct timespec *timeout
    ],
    result: "i64", // long
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** System call numbers of the AIO calls, per architecture. */
export const AIO_SYSCALLS = {
  x86_64: {
    io_setup: 206n,
    io_destroy: 207n,
    io_getevents: 208n,
    io_submit: 209n,
  },
  aarch64: { io_setup: 0n, io_destroy: 1n, io_submit: 2n, io_getevents: 4n },
} as const;

/** `struct iocb` (64 bytes): field offsets. */
export const IOCB = {
  SIZE: 64,
  data: 0, // u64 aio_data
  rwFlags: 12, // u32 aio_rw_flags
  opcode: 16, // u16 aio_lio_opcode
  fd: 20, // u32 aio_fildes
  buf: 24, // u64 aio_buf
  nbytes: 32, // u64 aio_nbytes
  offset: 40, // s64 aio_offset
  flags: 56, // u32 aio_flags
  resfd: 60, // u32 aio_resfd
} as const;

/** `struct io_event` (32 bytes): field offsets. */
export const IO_EVENT = {
  SIZE: 32,
  data: 0, // u64 data
  res: 16, // s64 res
} as const;

/** `aio_lio_opcode` values. */
export const IOCB_CMD = { PREAD: 0, PWRITE: 1, FSYNC: 2, FDSYNC: 3 } as const;

/** `aio_rw_flags` values. */
export const RWF = { NOWAIT: 8 } as const;

/** `aio_flags`: signal the completion on `aio_resfd` (an eventfd). */
export const IOCB_FLAG_RESFD = 1;

/** The four AIO calls, each returning a count or `-errno`. */
export interface AioCalls {
  /** Where the calls go: libaio, or raw system calls. */
  readonly via: "libaio" | "syscall";
  /** `io_setup(nr, ctxp)`; `ctxp[0]` must be 0 and receives the context. */
  setup(nr: number, ctxp: BigUint64Array): number;
  /** `io_destroy(ctx)`: waits for the requests in flight and discards their events. */
  destroy(ctx: bigint): number;
  /** `io_submit(ctx, nr, iocbpp)`. */
  submit(ctx: bigint, nr: number, iocbpp: BigUint64Array): number;
  /** `io_getevents(ctx, min, nr, events, timeout)`. */
  getEvents(
    ctx: bigint,
    min: number,
    nr: number,
    events: Uint8Array,
    timeout: BigInt64Array,
  ): number;
}

/** The candidate paths of libaio: absolute ones, then the soname. */
export function libaioPaths(): string[] {
  const dirs = currentArch()?.libraryDirs ?? [];
  return [...dirs.map((dir) => `${dir}/libaio.so.1`), "libaio.so.1"];
}

/**
 * The AIO calls: through libaio when it loads (and `preferLibaio`), otherwise
 * through libc's `syscall()`. Never prompts. The calls are kept for the next
 * time, except raw system calls chosen because libaio failed to load for a
 * transient reason (descriptors running out): the next time tries libaio again.
 */
export function loadAio(
  libc: Libc,
  preferLibaio = true,
): AioLoad {
  const cached = loaded.get(preferLibaio);
  if (cached?.ok) return cached;
  const result = loadAioUncached(libc, preferLibaio);
  if (result.ok && !result.libaioLater) loaded.set(preferLibaio, result);
  return result;
}

/** The AIO calls, or why they cannot be had. */
export type AioLoad = {
  ok: true;
  calls: AioCalls;
  /** Raw system calls stand in for libaio, which failed for a transient reason. */
  libaioLater?: boolean;
} | {
  ok: false;
  reason: string;
  /** The calls may load later (a transient failure, see `loadLibrary`). */
  transient?: boolean;
};

const loaded = new Map<boolean, AioLoad>();

function loadAioUncached(libc: Libc, preferLibaio: boolean): AioLoad {
  const arch = Deno.build.arch as string;
  if (arch !== "x86_64" && arch !== "aarch64") {
    return { ok: false, reason: `no AIO system call numbers for ${arch}` };
  }
  let libaioLater = false;
  if (preferLibaio) {
    const libaio = loadLibrary(libaioPaths(), LIBAIO_SYMBOLS);
    if (libaio.ok) return { ok: true, calls: viaLibaio(libaio.library) };
    libaioLater = libaio.transient === true;
  }
  const sys = loadLibrary(libcPaths(), AIO_SYSCALL_SYMBOLS);
  if (!sys.ok) return sys;
  return {
    ok: true,
    calls: viaSyscall(sys.library, libc, AIO_SYSCALLS[arch]),
    libaioLater,
  };
}

function viaLibaio(
  lib: Deno.DynamicLibrary<typeof LIBAIO_SYMBOLS>,
): AioCalls {
  const s = lib.symbols;
  return {
    via: "libaio",
    setup: (nr, ctxp) => s.io_setup(nr, ctxp),
    destroy: (ctx) => s.io_destroy(ctx),
    submit: (ctx, nr, iocbpp) => s.io_submit(ctx, BigInt(nr), iocbpp),
    getEvents: (ctx, min, nr, events, timeout) =>
      s.io_getevents(ctx, BigInt(min), BigInt(nr), events, timeout),
  };
}

function viaSyscall(
  lib: Deno.DynamicLibrary<typeof AIO_SYSCALL_SYMBOLS>,
  libc: Libc,
  nr: typeof AIO_SYSCALLS[keyof typeof AIO_SYSCALLS],
): AioCalls {
  const s = lib.symbols;
  const check = (result: bigint) =>
    result === -1n ? -lastErrno(libc) : Number(result);
  return {
    via: "syscall",
    setup: (n, ctxp) => check(s.sys_io_setup(nr.io_setup, n, ctxp)),
    destroy: (ctx) => check(s.sys_io_destroy(nr.io_destroy, ctx)),
    submit: (ctx, n, iocbpp) =>
      check(s.sys_io_submit(nr.io_submit, ctx, BigInt(n), iocbpp)),
    getEvents: (ctx, min, n, events, timeout) =>
      check(
        s.sys_io_getevents(
          nr.io_getevents,
          ctx,
          BigInt(min),
          BigInt(n),
          events,
          timeout,
        ),
      ),
  };
}
