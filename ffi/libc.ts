/**
 * Bindings to the C library for the `thread` backend: positional I/O and syncs as
 * nonblocking calls (they run on Deno's thread pool), the same calls as blocking
 * ones, and access to `errno`.
 *
 * `errno` is thread-local: after a nonblocking call fails on a pool thread its
 * value is gone. The backend repeats a failed call once on the main thread with the
 * blocking variant and reads `errno` there, through `__errno_location` and
 * `memcpy` (no `Deno.UnsafePointer*` API, so this works under a path-scoped
 * `--allow-ffi`).
 *
 * @module
 */

import { currentArch } from "./arch.ts";
import {
  FFI_NOT_GRANTED,
  ffiGranted,
  loadLibrary,
  type LoadResult,
} from "./load.ts";

const pread = {
  parameters: [
    "i32", // int fd
    "buffer", // void *buf
    "usize", // size_t count
    "i64", // off_t offset
  ],
  result: "isize", // ssize_t
} as const;

const pwrite = {
  parameters: [
    "i32", // int fd
    "buffer", // const void *buf
    "usize", // size_t count
    "i64", // off_t offset
  ],
  result: "isize", // ssize_t
} as const;

const sync = {
  parameters: [
    "i32", // int fd
  ],
  result: "i32", // int
} as const;

const ftruncate = {
  parameters: [
    "i32", // int fd
    "i64", // off_t length
  ],
  result: "i32", // int
} as const;

/** `sync_file_range` flag: start writing the range's dirty pages, without waiting. */
export const SYNC_FILE_RANGE_WRITE = 2;

/** `fallocate` mode: reserve blocks without changing the file's size. */
export const FALLOC_FL_KEEP_SIZE = 1;

/** The symbols of libc that the `thread` backend uses. */
export const LIBC_SYMBOLS = {
  pread: { ...pread, nonblocking: true },
  pwrite: { ...pwrite, nonblocking: true },
  fsync: { ...sync, nonblocking: true },
  fdatasync: { ...sync, nonblocking: true },
  sync_file_range: {
    parameters: [
      "i32", // int fd
      "i64", // off64_t offset
      "i64", // off64_t nbytes
      "u32", // unsigned int flags
    ],
    result: "i32", // int
    nonblocking: true,
  },
  ftruncate: { ...ftruncate, nonblocking: true },
  pread_now: { ...pread, name: "pread" },
  pwrite_now: { ...pwrite, name: "pwrite" },
  fsync_now: { ...sync, name: "fsync" },
  fdatasync_now: { ...sync, name: "fdatasync" },
  ftruncate_now: { ...ftruncate, name: "ftruncate" },
  eventfd: {
    parameters: [
      "u32", // unsigned int initval
      "i32", // int flags
    ],
    result: "i32", // int
  },
  pipe2: {
    parameters: [
      "buffer", // int pipefd[2]
      "i32", // int flags
    ],
    result: "i32", // int
  },
  /**
   * A call that does nothing, on Deno's pool: a turn of the event loop
   * without `node:timers` (impl/ring/macrotask.ts).
   */
  pool_hop: {
    name: "getpid",
    parameters: [],
    result: "i32", // pid_t
    nonblocking: true,
  },
  /** `read(2)` on Deno's pool: the completion waiter of the native backends. */
  read_on_pool: {
    name: "read",
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
    ],
    result: "isize", // ssize_t
    nonblocking: true,
  },
  write: {
    parameters: [
      "i32", // int fd
      "buffer", // const void *buf
      "usize", // size_t count
    ],
    result: "isize", // ssize_t
  },
  /**
   * `open(2)` on this thread, of a file Deno has just opened (the FFI
   * backends' own descriptor of it: impl/descriptor.ts). Declared with its
   * mode argument, which `open` reads only with `O_CREAT` (never passed).
   */
  open: {
    parameters: [
      "buffer", // const char *pathname
      "i32", // int flags
      "u32", // mode_t mode
    ],
    result: "i32", // int
  },
  /** `read(2)` on this thread: a stream's read, once its descriptor is ready. */
  read_now: {
    name: "read",
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
    ],
    result: "isize", // ssize_t
  },
  /** `poll(2)` on Deno's pool: waits until a stream's descriptor is ready. */
  poll: {
    parameters: [
      "buffer", // struct pollfd *fds
      "u64", // nfds_t nfds
      "i32", // int timeout (ms; -1 waits for good)
    ],
    result: "i32", // int
    nonblocking: true,
  },
  lseek: {
    parameters: [
      "i32", // int fd
      "i64", // off_t offset
      "i32", // int whence
    ],
    result: "i64", // off_t
  },
  close: {
    parameters: [
      "i32", // int fd
    ],
    result: "i32", // int
  },
  fstatfs: {
    parameters: [
      "i32", // int fd
      "buffer", // struct statfs *buf
    ],
    result: "i32", // int
  },
  fcntl: {
    parameters: [
      "i32", // int fd
      "i32", // int cmd
      "i64", // ... (one integer argument)
    ],
    result: "i32", // int
  },
  statx: {
    parameters: [
      "i32", // int dirfd
      "buffer", // const char *pathname
      "i32", // int flags
      "u32", // unsigned int mask
      "buffer", // struct statx *statxbuf
    ],
    result: "i32", // int
  },
  fallocate: {
    parameters: [
      "i32", // int fd
      "i32", // int mode
      "i64", // off_t offset
      "i64", // off_t len
    ],
    result: "i32", // int
  },
  /**
   * `memset(buf, 0, 0)` writes nothing and returns `buf`: the address of a
   * buffer, for the kernel structures that hold addresses, without
   * `Deno.UnsafePointer` (which a path-scoped `--allow-ffi` forbids).
   */
  memset_address: {
    name: "memset",
    parameters: [
      "buffer", // void *s
      "i32", // int c
      "usize", // size_t n
    ],
    result: "usize", // void * (as an integer)
  },
  __errno_location: {
    parameters: [],
    result: "pointer", // int *
  },
  memcpy: {
    parameters: [
      "buffer", // void *dest
      "pointer", // const void *src
      "usize", // size_t n
    ],
    result: "pointer", // void *
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded C library. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

let loaded: LoadResult<typeof LIBC_SYMBOLS> | undefined;

/** The candidate paths of glibc for this machine: absolute ones, then the soname. */
export function libcPaths(): string[] {
  const dirs = currentArch()?.libraryDirs ?? [];
  return [...dirs.map((dir) => `${dir}/libc.so.6`), "libc.so.6"];
}

/**
 * Loads libc once per process. Never prompts; a failure is not cached, so a
 * permission granted later is picked up.
 */
export function loadLibc(): LoadResult<typeof LIBC_SYMBOLS> {
  if (loaded?.ok) {
    return ffiGranted(loaded.path)
      ? loaded
      : { ok: false, reason: FFI_NOT_GRANTED };
  }
  if (currentArch() === undefined) {
    return {
      ok: false,
      reason:
        `needs Linux on x86_64 or aarch64 (this is ${Deno.build.os} on ${Deno.build.arch})`,
    };
  }
  loaded = loadLibrary(libcPaths(), LIBC_SYMBOLS);
  return loaded;
}

/**
 * Memory for the kernel or a pool thread: a typed array over its own
 * `ArrayBuffer`. V8 keeps typed arrays of up to 64 bytes made with `new
 * Uint8Array(n)` on its heap, where they move; the address FFI reports for them
 * is that of a temporary copy. An `ArrayBuffer` made directly never moves.
 */
export function fixedMemory<T>(
  View: new (buffer: ArrayBuffer) => T,
  bytes: number,
): T {
  return new View(new ArrayBuffer(bytes));
}

/** Stores a non-negative safe integer as a little-endian u64 without a BigInt. */
export function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

const errnoCell = fixedMemory(Int32Array, 4);

/** The address of a buffer's first byte (the buffer must stay referenced while it is used). */
export function addressOf(
  libc: Libc,
  buffer: Uint8Array | BigUint64Array,
): bigint {
  return libc.symbols.memset_address(buffer, 0, 0n) as bigint;
}

/** Reads `errno` of the calling (main) thread. */
export function lastErrno(libc: Libc): number {
  const location = libc.symbols.__errno_location();
  libc.symbols.memcpy(errnoCell, location, 4n);
  return errnoCell[0];
}
