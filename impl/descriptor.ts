/**
 * File descriptors for the FFI backends, opened with `node:fs`: it checks Deno's
 * read and write permissions (and Deno's rules for special files) and returns a
 * real descriptor, so no FFI backend reaches a file the sandbox would refuse.
 *
 * @module
 */

import * as fs from "node:fs";
import { currentArch } from "../ffi/arch.ts";
import type { OpenFlags } from "./backend.ts";

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
