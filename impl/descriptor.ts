/**
 * File descriptors for the FFI backends, opened with `node:fs`: it checks Deno's
 * read and write permissions (and Deno's rules for special files) and returns a
 * real descriptor, so no FFI backend reaches a file the sandbox would refuse.
 *
 * @module
 */

import * as fs from "node:fs";
import { currentArch } from "../ffi/arch.ts";
import type { OpenDescriptor, OpenFlags } from "./backend.ts";

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

/** Opens with `node:fs` (permission-checked); resolves to a real descriptor. */
export function openDescriptor(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.open(
      path,
      flags,
      0o666,
      (error, fd) => error ? reject(error) : resolve(fd),
    )
  );
}

/** `fstat(2)` through `node:fs`. */
export function statDescriptor(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) =>
    fs.fstat(fd, (error, stats) => error ? reject(error) : resolve(stats))
  );
}

/** `close(2)` through `node:fs`. */
export function closeDescriptor(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.close(fd, (error) => error ? reject(error) : resolve())
  );
}

/**
 * Opens `target` with `node:fs` unless it is a descriptor a backend already
 * opened; resolves to the descriptor and what `fstat` says of it.
 */
export async function descriptorOf(
  target:
    & { readonly path: string; readonly flags: OpenFlags }
    & (
      | { readonly kind: "path" }
      | OpenDescriptor
    ),
): Promise<OpenDescriptor> {
  if (target.kind === "descriptor") return target;
  const { path, flags } = target;
  const fd = await openDescriptor(path, posixOpenFlags(flags));
  try {
    return {
      kind: "descriptor",
      path,
      flags,
      fd,
      stats: await statDescriptor(fd),
    };
  } catch (error) {
    await closeDescriptor(fd);
    throw error;
  }
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
