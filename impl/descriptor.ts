/**
 * File descriptors for the FFI backends, opened with `node:fs`: it checks Deno's
 * read and write permissions (and Deno's rules for special files) and returns a
 * descriptor, so no FFI backend reaches a file the sandbox would refuse.
 *
 * Deno before 2.7.12 returns from `node:fs` a number of its own (a resource id),
 * not the operating system's descriptor: an FFI call on it reads or writes
 * whatever the process has open under that number. So before any FFI call
 * touches a descriptor, {@linkcode descriptorOf} checks with `statx(2)` that the
 * operating system's descriptor names the file `node:fs` opened (same device and
 * inode as `fstat` through `node:fs` says). When it does not, the descriptor is
 * closed through `node:fs` only, the file goes to the next backend (in the end
 * `deno`), and from then on the FFI backends refuse every file of this process
 * without opening it.
 *
 * @module
 */

import * as fs from "node:fs";
import { currentArch } from "../ffi/arch.ts";
import { lastErrno, loadLibc } from "../ffi/libc.ts";
import { fileInfoOfStatx, STATX_LAYOUT, statxOf } from "../ffi/statx.ts";
import { CannotServe, type OpenDescriptor, type OpenFlags } from "./backend.ts";

/** `open(2)` flags for a mode. */
export function posixOpenFlags(flags: OpenFlags): number {
  const c = fs.constants;
  let bits = flags.read && (flags.write || flags.append)
    ? c.O_RDWR
    : flags.read
    ? c.O_RDONLY
    : c.O_WRONLY;
  if (flags.append) bits |= c.O_APPEND;
  if (flags.create) bits |= c.O_CREAT;
  if (flags.createNew) bits |= c.O_CREAT | c.O_EXCL;
  if (flags.truncate) bits |= c.O_TRUNC;
  if (flags.direct) bits |= currentArch()?.O_DIRECT ?? 0;
  return bits;
}

/**
 * The `node:fs` calls the FFI backends make on descriptors. Tests replace them
 * ({@linkcode useDescriptorCallsForTests}) to play a runtime whose descriptors
 * are not the operating system's.
 */
export interface DescriptorCalls {
  /** `open(2)`, permission-checked by Deno. */
  open(path: string, flags: number): Promise<number>;
  /** `fstat(2)`. */
  fstat(fd: number): Promise<fs.Stats>;
  /** `close(2)`. */
  close(fd: number): Promise<void>;
}

/** The calls of `node:fs` itself. */
export const NODE_DESCRIPTOR_CALLS: DescriptorCalls = {
  open: (path, flags) =>
    new Promise((resolve, reject) =>
      fs.open(
        path,
        flags,
        0o666,
        (error, fd) => error ? reject(error) : resolve(fd),
      )
    ),
  fstat: (fd) =>
    new Promise((resolve, reject) =>
      fs.fstat(fd, (error, stats) => error ? reject(error) : resolve(stats))
    ),
  close: (fd) =>
    new Promise((resolve, reject) =>
      fs.close(fd, (error) => error ? reject(error) : resolve())
    ),
};

let calls = NODE_DESCRIPTOR_CALLS;

/**
 * Why this process's `node:fs` descriptors are not the operating system's,
 * once an open has shown it: a fact of the runtime, kept for the process.
 */
let foreignDescriptors: string | undefined;

/**
 * For tests: makes the FFI backends use `replacement` instead of `node:fs`
 * (`undefined`: `node:fs` again), and forgets what an earlier open showed of
 * the runtime's descriptors.
 */
export function useDescriptorCallsForTests(
  replacement?: DescriptorCalls,
): void {
  calls = replacement ?? NODE_DESCRIPTOR_CALLS;
  foreignDescriptors = undefined;
}

/** Opens with `node:fs` (permission-checked); resolves to its descriptor. */
export function openDescriptor(path: string, flags: number): Promise<number> {
  return calls.open(path, flags);
}

/** `fstat(2)` through `node:fs`. */
export function statDescriptor(fd: number): Promise<fs.Stats> {
  return calls.fstat(fd);
}

/** `close(2)` through `node:fs`. */
export function closeDescriptor(fd: number): Promise<void> {
  return calls.close(fd);
}

/**
 * Opens `target` with `node:fs` unless it is a descriptor a backend already
 * opened (and checked); resolves to the descriptor and what `fstat` says of
 * it, once the descriptor is known to be the operating system's own for that
 * file.
 *
 * @throws {CannotServe} when this runtime's `node:fs` descriptors are not the
 * operating system's: an FFI call must never touch them. A descriptor opened
 * here is handed on (the next backend closes it through `node:fs` and opens the
 * file again by its path, as this open left it).
 */
export async function descriptorOf(
  target:
    & { readonly path: string; readonly flags: OpenFlags }
    & (
      | { readonly kind: "path" }
      | OpenDescriptor
    ),
): Promise<OpenDescriptor> {
  if (foreignDescriptors !== undefined) {
    // Known for this process: nothing is opened for an FFI backend.
    throw new CannotServe(
      foreignDescriptors,
      target.kind === "descriptor" ? target : undefined,
    );
  }
  if (target.kind === "descriptor") return target;
  const { path, flags } = target;
  const fd = await openDescriptor(path, posixOpenFlags(flags));
  let stats: fs.Stats;
  try {
    stats = await statDescriptor(fd);
  } catch (error) {
    await closeDescriptor(fd);
    throw error;
  }
  const descriptor: OpenDescriptor = {
    kind: "descriptor",
    path,
    flags,
    fd,
    stats,
  };
  const mismatch = foreignDescriptor(fd, stats);
  if (mismatch === undefined) return descriptor;
  foreignDescriptors ??=
    `this runtime's node:fs descriptors are not the operating system's (${mismatch}; Deno ${Deno.version.deno}, FFI backends need 2.7.12 or later)`;
  throw new CannotServe(foreignDescriptors, {
    ...descriptor,
    // This open created or emptied the file already: the next one takes it
    // as it now is.
    flags: { ...flags, create: false, createNew: false, truncate: false },
  });
}

const EBADF = 9;
/** The first Deno whose `node:fs` descriptors are the operating system's. */
const REAL_DESCRIPTORS_SINCE = [2, 7, 12];

/**
 * Why the operating system's descriptor `fd` is not the file `node:fs`
 * describes with `stats`, or `undefined` when it is. `statx(2)` goes straight
 * to the kernel: it touches nothing, and fails with `EBADF` when nothing is
 * open under that number.
 */
function foreignDescriptor(fd: number, stats: fs.Stats): string | undefined {
  const libc = loadLibc();
  if (!libc.ok) return `cannot check descriptor ${fd}: ${libc.reason}`;
  const buffer = new Uint8Array(new ArrayBuffer(STATX_LAYOUT.SIZE));
  if (statxOf(libc.library.symbols, fd, buffer) !== 0) {
    const errno = lastErrno(libc.library);
    if (errno === EBADF) return `descriptor ${fd} is not open`;
    // statx is missing or filtered (ENOSYS, EPERM): the version must tell.
    return denoHasRealDescriptors()
      ? undefined
      : `cannot check descriptor ${fd}: statx failed with errno ${errno}`;
  }
  // Deno and node:fs encode the device as stat(2) does (glibc's makedev).
  const { ino, dev } = fileInfoOfStatx(buffer);
  if (ino === stats.ino && dev === stats.dev) return undefined;
  return `descriptor ${fd} is inode ${ino} on device ${dev}, the file opened is inode ${stats.ino} on device ${stats.dev}`;
}

/** Whether this Deno is 2.7.12 or later. */
function denoHasRealDescriptors(): boolean {
  const version = Deno.version.deno.split(/[.-]/).slice(0, 3).map(Number);
  for (let i = 0; i < 3; i++) {
    if (version[i] !== REAL_DESCRIPTORS_SINCE[i]) {
      return version[i] > REAL_DESCRIPTORS_SINCE[i];
    }
  }
  return true;
}

/** `lseek(2)` whence: the current position. */
const SEEK_CUR = 1;

/**
 * Whether an open file can seek: regular files and block devices can, pipes,
 * FIFOs and sockets cannot, and a character device says so itself (`/dev/zero`
 * can, a terminal cannot: `lseek` fails with `ESPIPE`).
 */
export function canSeek(
  descriptor: OpenDescriptor,
  lseek: (fd: number, offset: bigint, whence: number) => bigint,
): boolean {
  const { stats, fd } = descriptor;
  if (stats.isFile() || stats.isBlockDevice()) return true;
  if (!stats.isCharacterDevice()) return false;
  return lseek(fd, 0n, SEEK_CUR) >= 0n;
}
