/**
 * Errors raised by the library, and the one mapping from operating-system error
 * codes to error classes that every backend shares.
 *
 * `impl/shared/` holds what both layers use: the core and helpers (`src/`) and
 * the backends (`impl/`). It sits below both, so that no backend imports the
 * core; it imports nothing but `ffi/` (here the errno table, `ffi/errno.ts`).
 * `AIOError` is public, exported from `mod.ts`.
 *
 * @module
 */

import { ERRNO } from "../../ffi/errno.ts";

/**
 * An operating-system error that has no matching `Deno.errors` class, such as
 * `ENOSPC` when a disk is full.
 *
 * @example Tell a full disk from other failures
 * ```ts
 * import { AIOError } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const error: unknown = new AIOError("ENOSPC", 28, "write", "/dev/full");
 * assert.ok(error instanceof AIOError && error.code === "ENOSPC");
 * assert.equal(error.errno, 28);
 * assert.equal(
 *   error.message,
 *   "No space left on device (os error 28): write '/dev/full'",
 * );
 * ```
 */
export class AIOError extends Error {
  /** The symbolic error code, for example `"ENOSPC"`. */
  readonly code: string;
  /** The numeric error code (Linux numbering). */
  readonly errno: number;
  /** The operation that failed, for example `"write"`. */
  readonly syscall: string;
  /** The file the operation was about, when known. */
  readonly path: string | undefined;

  /**
   * Makes an error from its code.
   *
   * @param code The symbolic code, for example `"ENOSPC"`.
   * @param errno The numeric code.
   * @param syscall The operation that failed.
   * @param path The file concerned.
   */
  constructor(code: string, errno: number, syscall: string, path?: string) {
    super(describe(code, errno, syscall, path));
    this.name = "AIOError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

/** The table looked up by a code that may not be in it. */
const NUMBERS: Readonly<Record<string, number | undefined>> = ERRNO;

const NAMES = new Map<number, string>(
  Object.entries(ERRNO).map(([name, n]) => [n, name]),
);

const STRERROR: Record<string, string> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EIO: "Input/output error",
  EBADF: "Bad file descriptor",
  EAGAIN: "Resource temporarily unavailable",
  EACCES: "Permission denied",
  EEXIST: "File exists",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EINVAL: "Invalid argument",
  EFBIG: "File too large",
  ENOSPC: "No space left on device",
  ESPIPE: "Illegal seek",
  EROFS: "Read-only file system",
  ENOSYS: "Function not implemented",
  EDQUOT: "Disk quota exceeded",
};

type ErrorClass = new (message: string) => Error;

/** The `Deno.errors` class for each code that has one; the rest become `AIOError`. */
const CLASSES: Record<string, ErrorClass> = {
  ENOENT: Deno.errors.NotFound,
  EEXIST: Deno.errors.AlreadyExists,
  EACCES: Deno.errors.PermissionDenied,
  EPERM: Deno.errors.PermissionDenied,
  EISDIR: Deno.errors.IsADirectory,
  ENOTDIR: Deno.errors.NotADirectory,
  EBADF: Deno.errors.BadResource,
  EBUSY: Deno.errors.Busy,
  EINTR: Deno.errors.Interrupted,
  EPIPE: Deno.errors.BrokenPipe,
  ELOOP: Deno.errors.FilesystemLoop,
};

function describe(
  code: string,
  errno: number,
  syscall: string,
  path?: string,
): string {
  const what = STRERROR[code] ?? code;
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  return `${what} (os error ${errno}): ${where}`;
}

/**
 * Makes the error for an operating-system failure, given its errno: a
 * `Deno.errors` class where one matches, otherwise an {@linkcode AIOError}.
 * Every error carries `code`, `errno` and `syscall`.
 */
export function errorFromErrno(
  errno: number,
  syscall: string,
  path?: string,
): Error {
  return errorFromCode(NAMES.get(errno) ?? `E${errno}`, syscall, path, errno);
}

/** Like {@linkcode errorFromErrno}, from the symbolic code (`"ENOSPC"`). */
function errorFromCode(
  code: string,
  syscall: string,
  path?: string,
  errno = NUMBERS[code] ?? 0,
): Error {
  const Class = CLASSES[code];
  if (Class === undefined) return new AIOError(code, errno, syscall, path);
  const error = new Class(describe(code, errno, syscall, path));
  Object.assign(error, { code, errno, syscall, path });
  return error;
}

/**
 * Brings an error thrown by a Deno or `node:fs` API to the library's form, so that
 * the same mistake gives the same error class whatever backend served the file.
 * An error is recognised by its `code` (`"ENOENT"`) or, where Deno has no class
 * for the errno and throws a plain `Error` without a code, by the
 * `(os error N)` in its message (`File too large (os error 27)`). Errors
 * without an OS code (permission errors, argument errors) pass through.
 */
export function normalizeError(
  error: unknown,
  syscall: string,
  path?: string,
): unknown {
  if (!(error instanceof Error) || error instanceof AIOError) return error;
  if (error instanceof Deno.errors.NotCapable) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    return code.startsWith("E") ? errorFromCode(code, syscall, path) : error;
  }
  const errno = osErrorNumber(error.message);
  return errno === undefined ? error : errorFromErrno(errno, syscall, path);
}

/** Matches the `(os error N)` that Deno (Rust's `io::Error`) puts in a message. */
const OS_ERROR = /\(os error (\d+)\)/;

/**
 * The errno in a Deno error message, where it is one in Linux numbering: all of
 * them on Linux, the first 34 (the same on every POSIX system) elsewhere, none
 * on Windows (its numbers are Win32 error codes).
 */
function osErrorNumber(message: string): number | undefined {
  const match = OS_ERROR.exec(message);
  if (match === null || Deno.build.os === "windows") return undefined;
  const errno = Number(match[1]);
  if (errno === 0 || (Deno.build.os !== "linux" && errno > 34)) {
    return undefined;
  }
  return errno;
}

/** The error for an operation on a file that is not open. */
export function notOpen(path: string, state: "closed" | "not opened"): Error {
  return new Deno.errors.BadResource(
    state === "closed"
      ? `File '${path}' is closed`
      : `File '${path}' is not open yet: call open() first`,
  );
}
