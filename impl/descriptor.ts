/**
 * File descriptors for the FFI backends.
 *
 * Deno opens every file first (`openByDeno` in `deno.ts`), so Deno's permission
 * checks, its errors and its rules for special files apply whatever backend
 * serves the file. An FFI backend then opens the same path with `open(2)` and,
 * before any call touches the descriptor, checks with `statx(2)` that it names
 * the same file (device and inode) as Deno's handle; then Deno's handle is
 * closed. A FIFO stays connected through Deno's handle meanwhile, so this
 * second open never waits for the other end, and nothing the FIFO holds is
 * lost. No `node:fs`: its descriptors were not the operating system's before
 * Deno 2.7.12, and loading it costs every process milliseconds of start-up.
 *
 * @module
 */

import { lastErrno, type Libc } from "../ffi/libc.ts";
import { fileInfoOfStatx, STATX_LAYOUT, statxOf } from "../ffi/statx.ts";
import { currentArch } from "../ffi/arch.ts";
import { errorFromErrno } from "./shared/errors.ts";
import {
  CannotServe,
  type OpenDescriptor,
  type OpenedByDeno,
  type OpenFlags,
  type OpenTarget,
} from "./backend.ts";
import { openByDeno } from "./deno.ts";

/** `open(2)` flags, the same on x86_64 and aarch64 (asm-generic). */
const O_WRONLY = 0o1;
const O_RDWR = 0o2;
const O_NOCTTY = 0o400;
const O_APPEND = 0o2000;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const F_GETFL = 3;
const F_SETFL = 4;

/**
 * The `open(2)` and `close(2)` the FFI backends make on descriptors. Tests
 * replace them ({@linkcode useDescriptorCallsForTests}) to play an open that
 * lands on another file.
 */
export interface DescriptorCalls {
  /** `open(2)` of `path`: the descriptor, or -1 with `errno` set. */
  open(libc: Libc, path: string, flags: number): number;
  /** `close(2)`. */
  close(libc: Libc, fd: number): number;
}

const encoder = new TextEncoder();

/** The C library's own calls. */
export const LIBC_DESCRIPTOR_CALLS: DescriptorCalls = {
  open: (libc, path, flags) =>
    libc.symbols.open(encoder.encode(`${path}\0`), flags, 0),
  close: (libc, fd) => libc.symbols.close(fd),
};

let calls = LIBC_DESCRIPTOR_CALLS;

/** For tests: the calls to make instead of the C library's (`undefined`: its own again). */
export function useDescriptorCallsForTests(
  replacement?: DescriptorCalls,
): void {
  calls = replacement ?? LIBC_DESCRIPTOR_CALLS;
}

/**
 * The `open(2)` flags that open again a file Deno opened with `flags`: its
 * access and append mode, `O_DIRECT`, never creating nor emptying it (Deno's
 * open did), and nonblocking for a file that is not regular (a FIFO, a
 * terminal: its reads and writes wait for readiness instead).
 */
export function reopenFlags(
  flags: OpenFlags,
  info: Deno.FileInfo | undefined,
): number {
  let bits = flags.read && (flags.write || flags.append)
    ? O_RDWR
    : flags.read
    ? 0
    : O_WRONLY;
  bits |= O_CLOEXEC | O_NOCTTY;
  if (flags.append) bits |= O_APPEND;
  if (flags.direct) bits |= currentArch()?.O_DIRECT ?? 0;
  // Unknown (a link Deno will not describe): nonblocking until fstat tells.
  if (info === undefined || (!info.isFile && !info.isBlockDevice)) {
    bits |= O_NONBLOCK;
  }
  return bits;
}

/**
 * The descriptor of `target` for an FFI backend: a descriptor handed on as it
 * is; otherwise the file Deno opened (or opens now, for a path) opened again
 * with `open(2)` and checked to be the same file, Deno's handle then closed.
 *
 * @throws {CannotServe} when the file cannot be opened again as the same file
 * (Deno does not let it be described, the path names another file now, or
 * `open(2)` refuses): Deno's handle then stays open for the next backend.
 */
export async function descriptorOf(
  libc: Libc,
  target: Exclude<OpenTarget, { kind: "fsfile" }>,
): Promise<OpenDescriptor> {
  if (target.kind === "descriptor") return target;
  const opened = target.kind === "opened"
    ? target
    : await openByDeno(target.path, target.flags);
  try {
    const descriptor = reopen(libc, opened);
    opened.release();
    return descriptor;
  } catch (error) {
    // A path this call opened has no one else to close it.
    if (target.kind === "path") opened.release();
    throw error;
  }
}

function reopen(libc: Libc, opened: OpenedByDeno): OpenDescriptor {
  const { path, flags, info } = opened;
  // The path as Deno opened it: Deno resolves `..` by the name, the kernel
  // by the directory (`link/..` is the link target's parent).
  const name = lexicalPath(path);
  const fd = calls.open(libc, name, reopenFlags(flags, info));
  if (fd < 0) {
    const error = errorFromErrno(lastErrno(libc), "open", path);
    throw new CannotServe(`open(2) refused it: ${error.message}`);
  }
  let own: Deno.FileInfo;
  try {
    own = fileInfoOf(libc, fd, path);
  } catch (error) {
    calls.close(libc, fd);
    throw new CannotServe(`fstat refused it: ${(error as Error).message}`);
  }
  if (info === undefined && (own.isFile || own.isBlockDevice)) {
    // Reads of a regular file never wait for readiness; io_uring would
    // answer EAGAIN for a nonblocking one rather than wait for the disk.
    const { fcntl } = libc.symbols;
    fcntl(fd, F_SETFL, BigInt(fcntl(fd, F_GETFL, 0n) & ~O_NONBLOCK));
  }
  // Deno describes a file unless a link leads out of the read grant (it
  // opens the link, as this open does, but will not say where it leads).
  if (info !== undefined && (own.ino !== info.ino || own.dev !== info.dev)) {
    calls.close(libc, fd);
    throw new CannotServe(
      `the path names another file now (inode ${own.ino} on device ${own.dev}, Deno opened inode ${info.ino} on device ${info.dev})`,
    );
  }
  return {
    kind: "descriptor",
    path,
    flags,
    fd,
    info: own,
    close: () => closeDescriptor(libc, fd),
  };
}

/**
 * `path` with `.` and `..` resolved by name, as Deno resolves them before it
 * opens a file: `a/b/../c` is `a/c` whatever `a/b` is.
 */
function lexicalPath(path: string): string {
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts.at(-1) !== "..") {
      parts.pop();
    } else if (part !== ".." || !absolute) {
      parts.push(part);
    }
  }
  const joined = parts.join("/");
  return absolute ? `/${joined}` : joined === "" ? "." : joined;
}

/**
 * `fstat` of a descriptor through `statx(2)`, on this thread (it does not
 * wait on the file's contents), as `Deno.stat` reports it.
 *
 * @throws the error of the failed call, naming `path`.
 */
export function fileInfoOf(
  libc: Libc,
  fd: number,
  path?: string,
): Deno.FileInfo {
  const buffer = new Uint8Array(new ArrayBuffer(STATX_LAYOUT.SIZE));
  if (statxOf(libc.symbols, fd, buffer) !== 0) {
    throw errorFromErrno(lastErrno(libc), "fstat", path);
  }
  return fileInfoOfStatx(buffer);
}

/** `close(2)` of a descriptor an FFI backend opened. */
export function closeDescriptor(libc: Libc, fd: number): Promise<void> {
  if (calls.close(libc, fd) === 0) return Promise.resolve();
  return Promise.reject(errorFromErrno(lastErrno(libc), "close"));
}

/** `lseek(2)` whence: the current position. */
const SEEK_CUR = 1;

/**
 * Whether an open file can seek: regular files and block devices can, pipes,
 * FIFOs and sockets cannot, and a character device says so itself (`/dev/zero`
 * can, a terminal cannot: `lseek` fails with `ESPIPE`).
 */
export function canSeek(libc: Libc, descriptor: OpenDescriptor): boolean {
  const { info, fd } = descriptor;
  if (info.isFile || info.isBlockDevice) return true;
  if (!info.isCharDevice) return false;
  return libc.symbols.lseek(fd, 0n, SEEK_CUR) >= 0n;
}
