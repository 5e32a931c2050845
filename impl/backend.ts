/**
 * The interface every backend implements. `AIOFile` talks to files only through
 * it, so a call-per-operation backend (threads, `Deno.FsFile`) and a
 * submission/completion backend (libaio, io_uring) fit the same way.
 *
 * @module
 */

import type { QueueTuning } from "./tuning.ts";

/**
 * The name of a backend.
 *
 * @example The backend of an open file
 * ```ts
 * import { AIOFile, type BackendName } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "r");
 * const name: BackendName = afp.backend!;
 * assert.ok(["uring", "linux", "thread", "deno"].includes(name));
 * ```
 */
export type BackendName = "uring" | "linux" | "thread" | "deno";

/** The names of the backends, best first. */
export const BACKEND_NAMES: readonly BackendName[] = [
  "uring",
  "linux",
  "thread",
  "deno",
];

/**
 * The most bytes one request of a backend reads or writes: Linux moves at most
 * this much in one `read`/`write` call (`MAX_RW_COUNT`, 2 GiB less a page), and
 * io_uring's request length has 32 bits. `AIOFile` splits larger reads and
 * writes into requests of at most this size, so that a short count means the
 * end of the file, never the kernel's cap.
 */
export const MAX_REQUEST_BYTES = 0x7ffff000;

/** How to open a file, derived from its mode. */
export interface OpenFlags {
  /** Open for reading. */
  readonly read: boolean;
  /** Open for writing. */
  readonly write: boolean;
  /** Every write lands at end of file (`O_APPEND`). */
  readonly append: boolean;
  /** Create the file when missing (`O_CREAT`). */
  readonly create: boolean;
  /** Fail when the file exists (`O_EXCL`). */
  readonly createNew: boolean;
  /** Truncate to zero length (`O_TRUNC`). */
  readonly truncate: boolean;
  /** Bypass the page cache (`O_DIRECT`). */
  readonly direct: boolean;
}

/**
 * A file a backend has opened and handed on, because it cannot serve it: its
 * descriptor and what `fstat` said of it. The next backend serves it as it is
 * (a FIFO opened twice would lose its writer's data), or closes it.
 */
export interface OpenDescriptor {
  readonly kind: "descriptor";
  readonly path: string;
  readonly flags: OpenFlags;
  /** The descriptor, now the next backend's to serve or close. */
  readonly fd: number;
  /** What `fstat` said of it. */
  readonly info: Deno.FileInfo;
  /** Closes the descriptor (the backend that opened it knows how). */
  close(): Promise<void>;
}

/**
 * A file Deno has opened (`Deno.open`: its permission checks and errors), to
 * be served by a backend: the `deno` backend takes the handle, an FFI backend
 * opens the same path again, checks it is the same file, and closes it.
 */
export interface OpenedByDeno {
  readonly kind: "opened";
  readonly path: string;
  readonly flags: OpenFlags;
  /** Deno's handle of the file. */
  readonly handle: Deno.FsFile;
  /** What `FsFile.stat` says of it; undefined when Deno refuses to say. */
  readonly info: Deno.FileInfo | undefined;
  /** Hands over the handle (its taker closes it), once; then undefined. */
  take(): Deno.FsFile | undefined;
  /** Closes the handle, unless it was taken. */
  release(): void;
}

/**
 * What to open: a path with flags, a `Deno.FsFile` the user already has open,
 * or a descriptor a backend opened and handed on.
 */
export type OpenTarget =
  | { readonly kind: "path"; readonly path: string; readonly flags: OpenFlags }
  | {
    readonly kind: "fsfile";
    readonly file: Deno.FsFile;
    readonly name: string;
    readonly flags: OpenFlags;
  }
  | OpenedByDeno
  | OpenDescriptor;

/**
 * One open file of a backend. Buffers passed in are owned by the library for the
 * whole call: `AIOFile` allocates read buffers and copies written data, so a
 * backend may hand their memory to the kernel until the promise settles.
 */
export interface BackendFile {
  /**
   * False for a file that cannot seek (a pipe, a FIFO, a socket, a terminal):
   * it reads and writes at its own position, whatever the offset, and
   * `AIOFile` sends it one request at a time, in call order. Default true.
   */
  readonly seekable?: boolean;
  /**
   * A short read means the end of the file (true for regular files), so a read
   * loop may stop without asking again. Default false.
   */
  readonly endOnShortRead?: boolean;
  /**
   * `O_DIRECT`: offsets and lengths must be multiples of this. Default 1.
   */
  readonly alignment?: number;
  /**
   * What {@linkcode read} does with the memory of `into`:
   *
   * - `"library"` (the default): hands it to the kernel or to another thread,
   *   which keep its raw address, so it must be memory no caller can transfer
   *   or resize until the read settles;
   * - `"copied"`: reads into memory of its own and copies into `into` once the
   *   read is over, so any buffer will do;
   * - `"held"`: its calls hold the memory themselves until they end (Deno's own
   *   ops keep the `ArrayBuffer`'s backing store alive), so any fixed-length
   *   `ArrayBuffer` will do.
   */
  readonly readMemory?: "library" | "copied" | "held";
  /**
   * Reads at `offset` into `into`; resolves to the bytes read (0 at end of
   * file, may be short). `into` holds at most {@linkcode MAX_REQUEST_BYTES}.
   *
   * `signal` (on this and the other requests): when it aborts, the backend
   * drops the request if it has not started it, and cancels it where it can
   * (io_uring, a wait for a stream). A read or a sync then rejects with the
   * signal's reason at once, the backend holding `into` until the kernel or
   * the thread is done with it: after such a rejection the caller must not
   * give `into` to anyone else (a pool). A write or a truncate settles only
   * once nothing will touch `data` any more, so it never lands after it
   * rejected. A file that cannot seek (`seekable: false`) may settle a read
   * only when it ends (the caller keeps the stream's order).
   */
  read(into: Uint8Array, offset: number, signal?: AbortSignal): Promise<number>;
  /**
   * Writes `data` at `offset`; resolves to the bytes written (may be short).
   * `data` holds at most {@linkcode MAX_REQUEST_BYTES}.
   */
  write(
    data: Uint8Array,
    offset: number,
    signal?: AbortSignal,
  ): Promise<number>;
  /**
   * Writes all of `data` at `offset` on this thread before returning, when this
   * file does such writes inline: nothing uses `data` after the call returns, so
   * it need not be the library's own copy. The promise settles with
   * `data.length` or the error. `undefined` when the file does not write this
   * write inline (nothing was written). Optional.
   */
  writeInline?(data: Uint8Array, offset: number): Promise<number> | undefined;
  /** `fsync(2)`. */
  fsync(signal?: AbortSignal): Promise<void>;
  /** `fdatasync(2)`. */
  fdatasync(signal?: AbortSignal): Promise<void>;
  /** `ftruncate(2)`. */
  truncate(length: number, signal?: AbortSignal): Promise<void>;
  /** The current size in bytes. */
  size(): Promise<number>;
  /** What `fstat(2)` says of the file, as `Deno.stat` reports it. */
  stat(): Promise<Deno.FileInfo>;
  /** Releases the file; called once, after every request on it has settled. */
  close(): Promise<void>;
}

/** A backend: opens files and owns whatever they share (threads, rings, contexts). */
export interface Backend {
  /** The backend's name. */
  readonly name: BackendName;
  /**
   * Opens a file. Rejects with {@linkcode CannotServe} when this backend cannot
   * serve it (the next backend then gets it); with the OS error otherwise.
   */
  open(target: OpenTarget): Promise<BackendFile>;
  /** Releases the backend; called once, when nothing is in flight. */
  close(): Promise<void>;
}

/** Describes a backend that may or may not be usable in this process. */
export interface BackendProvider {
  /** The backend's name. */
  readonly name: BackendName;
  /** Why the backend cannot be used here, or `undefined` when it can. Never prompts. */
  unavailableReason(): string | undefined;
  /**
   * Makes an instance; only called when {@linkcode unavailableReason} is
   * `undefined`. The kernel-queue backends follow `tuning`; others ignore it.
   */
  create(tuning: QueueTuning): Backend;
}

/** Thrown by `Backend.open` when the file should go to the next backend. */
export class CannotServe extends Error {
  /** The file, when this backend opened it before refusing it: the next backend gets it. */
  readonly handoff: OpenDescriptor | undefined;

  /**
   * @param reason Why this backend cannot serve the file.
   * @param handoff The file this backend opened, for the next backend.
   */
  constructor(reason: string, handoff?: OpenDescriptor) {
    super(reason);
    this.name = "CannotServe";
    this.handoff = handoff;
  }
}
