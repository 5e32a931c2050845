/**
 * io_uring: `io_uring_setup`, `io_uring_enter` and `io_uring_register` through
 * libc's `syscall()` (no liburing), and `mmap`/`munmap` for the rings. The calls
 * are wrapped to return `-errno` on failure. Offsets below are those of the
 * kernel's `struct io_uring_params`, `io_uring_sqe` and `io_uring_cqe`, the same
 * on x86_64 and aarch64.
 *
 * @module
 */

import { lastErrno, type Libc, libcPaths } from "./libc.ts";
import { ffiGranted, loadLibrary } from "./load.ts";

/** The symbols of libc the io_uring backend uses. */
export const URING_SYMBOLS = {
  sys_io_uring_setup: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "u32", // unsigned entries
      "buffer", // struct io_uring_params *p
    ],
    result: "i64", // long (the ring's fd, or -1)
  },
  sys_io_uring_enter: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "i32", // int fd
      "u32", // unsigned to_submit
      "u32", // unsigned min_complete
      "u32", // unsigned flags
      "pointer", // const sigset_t *sig
      "usize", // size_t sigsz
    ],
    result: "i64", // long (SQEs consumed, or -1)
  },
  sys_io_uring_register: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "i32", // int fd
      "u32", // unsigned opcode
      "buffer", // void *arg
      "u32", // unsigned nr_args
    ],
    result: "i64", // long
  },
  mmap: {
    parameters: [
      "pointer", // void *addr
      "usize", // size_t length
      "i32", // int prot
      "i32", // int flags
      "i32", // int fd
      "i64", // off_t offset
    ],
    result: "pointer", // void * (MAP_FAILED is -1)
  },
  munmap: {
    parameters: [
      "pointer", // void *addr
      "usize", // size_t length
    ],
    result: "i32", // int
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** System call numbers, the same on x86_64 and aarch64. */
export const URING_SYSCALLS = {
  setup: 425n,
  enter: 426n,
  register: 427n,
} as const;

/** `struct io_uring_params` (120 bytes): field offsets. */
export const PARAMS = {
  SIZE: 120,
  sqEntries: 0, // u32
  cqEntries: 4, // u32
  flags: 8, // u32
  features: 20, // u32
  sqOff: 40, // struct io_sqring_offsets: u32 head, tail, ring_mask, ring_entries, flags, dropped, array
  cqOff: 80, // struct io_cqring_offsets: u32 head, tail, ring_mask, ring_entries, overflow, cqes
} as const;

/** Indexes (in u32s) within `sq_off` and `cq_off`. */
export const RING_OFFSET = {
  head: 0,
  tail: 1,
  ringMask: 2,
  ringEntries: 3,
  sqArray: 6,
  cqes: 5,
} as const;

/** `struct io_uring_sqe` (64 bytes): field offsets. */
export const SQE = {
  SIZE: 64,
  opcode: 0, // u8
  flags: 1, // u8
  ioprio: 2, // u16
  fd: 4, // s32
  off: 8, // u64
  addr: 16, // u64
  len: 24, // u32
  opFlags: 28, // u32 (rw_flags, fsync_flags, ...)
  userData: 32, // u64
} as const;

/** `struct io_uring_cqe` (16 bytes): field offsets. */
export const CQE = { SIZE: 16, userData: 0, res: 8 } as const;

/** Opcodes. */
export const IORING_OP = {
  NOP: 0,
  FSYNC: 3,
  ASYNC_CANCEL: 14,
  READ: 22,
  WRITE: 23,
} as const;

/**
 * SQE flag: the next SQE starts once this one is over, whatever its result
 * (`IOSQE_IO_LINK` would cancel the next one when this one fails).
 */
export const IOSQE_IO_HARDLINK = 1 << 3;

/** `fsync_flags`: `fdatasync` rather than `fsync`. */
export const IORING_FSYNC_DATASYNC = 1;

/** Feature: the SQ and CQ rings share one mapping. */
export const IORING_FEAT_SINGLE_MMAP = 1;

/** `io_uring_register` opcodes. */
export const IORING_REGISTER = { EVENTFD: 4, PROBE: 8 } as const;

/** `mmap` offsets of the rings. */
export const IORING_OFF = {
  SQ_RING: 0n,
  CQ_RING: 0x8000000n,
  SQES: 0x10000000n,
};

/** The calls, each returning a result or `-errno`. */
export interface UringCalls {
  /** `io_uring_setup(entries, params)`: the ring's fd. */
  setup(entries: number, params: Uint8Array): number;
  /** `io_uring_enter(fd, toSubmit, minComplete, flags)`. */
  enter(
    fd: number,
    toSubmit: number,
    minComplete: number,
    flags: number,
  ): number;
  /** `io_uring_register(fd, opcode, arg, nrArgs)`. */
  register(fd: number, opcode: number, arg: Uint8Array, nrArgs: number): number;
  /** Maps `length` bytes of the ring at `offset`: an `ArrayBuffer` over them, and a release function. */
  map(
    fd: number,
    length: number,
    offset: bigint,
  ): { buffer: ArrayBuffer; unmap: () => void } | number;
  /** `close(fd)`. */
  close(fd: number): void;
}

/** Why the calls cannot be had under a path-scoped `--allow-ffi`. */
const NEEDS_UNSCOPED_FFI =
  "mapping the rings needs --allow-ffi without a path scope";

const PROT_READ_WRITE = 3;
const MAP_SHARED_POPULATE = 0x1 | 0x8000;

/**
 * The io_uring calls. Mapping the rings needs `Deno.UnsafePointerView`, which
 * only an unscoped `--allow-ffi` grants: under a path-scoped grant this says so.
 */
export function loadUring(libc: Libc): UringLoad {
  if (!ffiGranted()) return { ok: false, reason: NEEDS_UNSCOPED_FFI };
  if (loaded?.ok) return loaded;
  return loaded = loadUncached(libc);
}

/** The io_uring calls, or why they cannot be had. */
export type UringLoad = { ok: true; calls: UringCalls } | {
  ok: false;
  reason: string;
};

let loaded: UringLoad | undefined;

/** Loads the calls; {@linkcode loadUring} has checked the permission. */
function loadUncached(libc: Libc): UringLoad {
  const lib = loadLibrary(libcPaths(), URING_SYMBOLS);
  if (!lib.ok) return lib;
  const s = lib.library.symbols;
  const check = (result: bigint) =>
    result === -1n ? -lastErrno(libc) : Number(result);
  return {
    ok: true,
    calls: {
      setup: (entries, params) =>
        check(s.sys_io_uring_setup(URING_SYSCALLS.setup, entries, params)),
      enter: (fd, toSubmit, minComplete, flags) =>
        check(
          s.sys_io_uring_enter(
            URING_SYSCALLS.enter,
            fd,
            toSubmit,
            minComplete,
            flags,
            null,
            0n,
          ),
        ),
      register: (fd, opcode, arg, nrArgs) =>
        check(
          s.sys_io_uring_register(
            URING_SYSCALLS.register,
            fd,
            opcode,
            arg,
            nrArgs,
          ),
        ),
      map(fd, length, offset) {
        const pointer = s.mmap(
          null,
          BigInt(length),
          PROT_READ_WRITE,
          MAP_SHARED_POPULATE,
          fd,
          offset,
        );
        if (
          pointer === null ||
          BigInt(Deno.UnsafePointer.value(pointer)) === 0xffff_ffff_ffff_ffffn
        ) {
          return -lastErrno(libc);
        }
        const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, length);
        return { buffer, unmap: () => void s.munmap(pointer, BigInt(length)) };
      },
      close: (fd) => void libc.symbols.close(fd),
    },
  };
}
