/**
 * The `deno` backend: `Deno.FsFile`, no FFI, no permission beyond read/write.
 *
 * `Deno.FsFile` has no positional read or write, and a `seek` followed by a
 * `read` on one handle races with any other operation on that handle. Each file
 * therefore keeps a small pool of handles on the same path; an operation borrows
 * one, seeks it and reads or writes, then gives it back. Extra handles are opened
 * only when operations overlap, and are checked to be the same file (device and
 * inode) as the first one. A `Deno.FsFile` passed in by the user is the only handle
 * of its file (its operations queue) and is never closed here.
 *
 * @module
 */

import {
  type Backend,
  type BackendFile,
  CannotServe,
  type OpenedByDeno,
  type OpenFlags,
  type OpenTarget,
} from "./backend.ts";
import { errorFromErrno } from "./shared/errors.ts";
import { abortable } from "./shared/abort.ts";
import { ERRNO } from "../ffi/errno.ts";

/** How many handles one file may hold at most; see `bench/deno_pool.bench.ts`. */
export const DEFAULT_HANDLES_PER_FILE = 8;

function denoOpenOptions(flags: OpenFlags): Deno.OpenOptions {
  return {
    read: flags.read,
    write: flags.write && !flags.append,
    append: flags.append,
    create: flags.create,
    createNew: flags.createNew,
    truncate: flags.truncate,
  };
}

/** The same flags, for a file that exists already (nothing to create or empty). */
function existing(flags: OpenFlags): OpenFlags {
  return { ...flags, create: false, createNew: false, truncate: false };
}

/**
 * Opens a file with `Deno.open`: Deno's permission checks, its errors and its
 * rules for special files apply, whatever backend then serves the file. A
 * directory is refused (`IsADirectory`). The handle goes to the backend that
 * serves the file ({@linkcode OpenedByDeno.take}); an FFI backend opens the
 * same path again and checks that it is the same file.
 */
export async function openByDeno(
  path: string,
  flags: OpenFlags,
): Promise<OpenedByDeno> {
  const handle = await Deno.open(path, denoOpenOptions(flags));
  let info: Deno.FileInfo | undefined;
  try {
    // Deno Deploy Classic's handles have no stat at all.
    info = typeof handle.statSync === "function"
      ? handle.statSync()
      : undefined;
  } catch (error) {
    // Deno checks `FsFile.stat()` against a link's target, `Deno.open`
    // against the link: a link out of the sandbox opens but cannot be
    // described, so only Deno's own handle can serve it.
    if (!(error instanceof Deno.errors.NotCapable)) {
      handle.close();
      throw error;
    }
  }
  if (info?.isDirectory) {
    handle.close();
    throw errorFromErrno(ERRNO.EISDIR, "open", path);
  }
  let taken = false;
  return {
    kind: "opened",
    path,
    flags,
    handle,
    info,
    take() {
      if (taken) return undefined;
      taken = true;
      return handle;
    },
    release() {
      if (taken) return;
      taken = true;
      handle.close();
    },
  };
}

/** The `deno` backend. */
export class DenoBackend implements Backend {
  readonly name = "deno" as const;
  readonly #handlesPerFile: number;

  /** @param handlesPerFile The most handles one file may hold at once. */
  constructor(handlesPerFile = DEFAULT_HANDLES_PER_FILE) {
    this.#handlesPerFile = handlesPerFile;
  }

  async open(target: OpenTarget): Promise<BackendFile> {
    if (target.flags.direct) {
      throw new CannotServe(
        "Deno.FsFile cannot open with O_DIRECT",
        target.kind === "descriptor" ? target : undefined,
      );
    }
    if (target.kind === "fsfile") {
      // A handle of the user's: never closed here. One that cannot seek (a
      // pipe), or has no seek (Deno Deploy Classic), is read in sequence.
      const { file, name, flags } = target;
      checkHandle(file, flags, name);
      return cannotSeek(file)
        ? new DenoStream(file, false, name)
        : new DenoFile(file, undefined, false, 1);
    }
    let opened: OpenedByDeno;
    if (target.kind === "opened") {
      opened = target;
    } else if (target.kind === "descriptor") {
      // Deno cannot take a descriptor it did not open: the file is opened
      // again by its path, as the first open left it (only regular files get
      // here: the thread backend serves every descriptor it is given).
      await target.close();
      opened = await openByDeno(target.path, existing(target.flags));
    } else {
      opened = await openByDeno(target.path, target.flags);
    }
    const file = opened.take();
    if (file === undefined) throw new Error("The handle was taken already");
    try {
      return this.#serve(file, opened.info, opened.path, opened.flags);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Serves a handle this backend owns now. */
  #serve(
    file: Deno.FsFile,
    info: Deno.FileInfo | undefined,
    path: string,
    flags: OpenFlags,
  ): BackendFile {
    checkHandle(file, flags, path);
    if (cannotSeek(file)) return new DenoStream(file, true, path);
    if (info === undefined) {
      // Deno checks `FsFile.stat()` against the link's target, `Deno.open`
      // against the link: a link granted to open but pointing outside the
      // sandbox is served like `Deno.open` serves it, with one handle.
      return new DenoFile(file, undefined, true, 1);
    }
    const reopen = async () => {
      const extra = await Deno.open(path, {
        read: flags.read,
        write: flags.write && !flags.append,
        append: flags.append,
      });
      const again = await extra.stat();
      if (again.ino !== info.ino || again.dev !== info.dev) {
        extra.close();
        return undefined; // the path now names another file
      }
      return extra;
    };
    return new DenoFile(file, reopen, true, this.#handlesPerFile);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * What `file.stat()` says, or `undefined` when the handle has no `stat` (Deno
 * Deploy Classic) or Deno refuses it.
 */
async function statOrUndefined(
  file: Deno.FsFile,
): Promise<Deno.FileInfo | undefined> {
  if (typeof file.stat !== "function") return undefined;
  try {
    return await file.stat();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

/**
 * Moves `file` to `offset`; false when the offset is past the largest the file
 * system allows (`s_maxbytes`: lseek(2) refuses it with `EINVAL`, where pread(2)
 * reads nothing and pwrite(2) fails with `EFBIG`). The caller checked that
 * `offset` is a non-negative safe integer.
 */
function seekTo(file: Deno.FsFile, offset: number): boolean {
  try {
    file.seekSync(offset, Deno.SeekMode.Start);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === "EINVAL") return false;
    throw error;
  }
}

/** The calls a handle may lack (Deno Deploy Classic has only `read` and `close`). */
type HandleCall = "read" | "write" | "sync" | "syncData" | "truncate" | "stat";

/** `Deno.errors.NotSupported` for a handle without `call`. */
function lacking(call: HandleCall, name: string): Deno.errors.NotSupported {
  return new Deno.errors.NotSupported(
    `The Deno.FsFile of '${name}' has no ${call}() (as on Deno Deploy Classic, whose handles only read)`,
  );
}

/** Refuses at open a handle that lacks what the mode needs (reading or writing). */
function checkHandle(file: Deno.FsFile, flags: OpenFlags, name: string): void {
  if (flags.read && typeof file.read !== "function") {
    throw lacking("read", name);
  }
  if ((flags.write || flags.append) && typeof file.write !== "function") {
    throw lacking("write", name);
  }
}

/**
 * Whether a handle cannot seek: a pipe, a FIFO or a terminal (`seek` fails
 * with `ESPIPE`), or a handle with no `seek` at all (Deno Deploy Classic).
 */
function cannotSeek(file: Deno.FsFile): boolean {
  if (typeof file.seekSync !== "function") return true;
  try {
    file.seekSync(0, Deno.SeekMode.Current);
    return false;
  } catch {
    return true;
  }
}

/**
 * A file that cannot seek, through its one handle: reads and writes at its
 * own position, one at a time (`AIOFile` sends them in call order).
 */
class DenoStream implements BackendFile {
  readonly seekable = false;
  readonly endOnShortRead = false;
  /** Deno's read op holds the backing store of the buffer it reads into. */
  readonly readMemory = "held";
  readonly #file: Deno.FsFile;
  readonly #owned: boolean;
  readonly #name: string;

  /**
   * @param owned Whether this file opened the handle (and closes it).
   * @param name The path (or `<Deno.FsFile>`), for messages.
   */
  constructor(file: Deno.FsFile, owned: boolean, name: string) {
    this.#file = file;
    this.#owned = owned;
    this.#name = name;
  }

  /** Calls the handle's `call`, or rejects with `NotSupported` when it has none. */
  #call<T>(call: HandleCall, ...args: unknown[]): Promise<T> {
    const method = this.#file[call] as unknown;
    if (typeof method !== "function") {
      return Promise.reject(lacking(call, this.#name));
    }
    return (method as (...args: unknown[]) => Promise<T>).apply(
      this.#file,
      args,
    );
  }

  async read(into: Uint8Array, _offset: number): Promise<number> {
    return (await this.#file.read(into)) ?? 0;
  }

  write(data: Uint8Array, _offset: number): Promise<number> {
    return this.#file.write(data);
  }

  fsync(): Promise<void> {
    return this.#call("sync");
  }

  fdatasync(): Promise<void> {
    return this.#call("syncData");
  }

  truncate(length: number): Promise<void> {
    return this.#call("truncate", length);
  }

  async size(): Promise<number> {
    // A handle without stat (Deno Deploy Classic) that this file opened by
    // its path: the path says.
    const info = typeof this.#file.stat !== "function" && this.#owned
      ? await Deno.stat(this.#name)
      : await statOrUndefined(this.#file);
    return info?.size ?? 0;
  }

  stat(): Promise<Deno.FileInfo> {
    // A handle without stat (Deno Deploy Classic) that this file opened by
    // its path: the path says.
    if (typeof this.#file.stat !== "function" && this.#owned) {
      return Deno.stat(this.#name);
    }
    return this.#call("stat");
  }

  close(): Promise<void> {
    if (this.#owned) this.#file.close();
    return Promise.resolve();
  }
}

class DenoFile implements BackendFile {
  /** Deno's read op holds the backing store of the buffer it reads into. */
  readonly readMemory = "held";
  readonly #idle: Deno.FsFile[];
  readonly #all: Deno.FsFile[];
  readonly #waiting: ((file: Deno.FsFile) => void)[] = [];
  #reopen: (() => Promise<Deno.FsFile | undefined>) | undefined;
  #opening = 0;
  #closed = false;
  readonly #owned: boolean;
  readonly #max: number;

  constructor(
    first: Deno.FsFile,
    reopen: (() => Promise<Deno.FsFile | undefined>) | undefined,
    owned: boolean,
    max: number,
  ) {
    this.#idle = [first];
    this.#all = [first];
    this.#reopen = reopen;
    this.#owned = owned;
    this.#max = max;
  }

  /** Borrows a handle: an idle one, a new one while under the limit, or the next one returned. */
  #borrow(): Promise<Deno.FsFile> {
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    const waiter = new Promise<Deno.FsFile>((resolve) =>
      this.#waiting.push(resolve)
    );
    if (
      this.#reopen !== undefined && this.#all.length + this.#opening < this.#max
    ) {
      this.#grow(this.#reopen);
    }
    return waiter;
  }

  async #grow(reopen: () => Promise<Deno.FsFile | undefined>): Promise<void> {
    this.#opening++;
    let extra: Deno.FsFile | undefined;
    try {
      extra = await reopen();
    } catch {
      extra = undefined;
    } finally {
      this.#opening--;
    }
    if (extra === undefined) {
      this.#reopen = undefined; // stay with the handles we have
      return;
    }
    if (this.#closed) {
      extra.close(); // closed while it was being opened
      return;
    }
    this.#all.push(extra);
    this.#giveBack(extra);
  }

  #giveBack(file: Deno.FsFile): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(file);
    else this.#idle.push(file);
  }

  async #with<T>(use: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    const file = await this.#borrow();
    try {
      return await use(file);
    } finally {
      this.#giveBack(file);
    }
  }

  read(
    into: Uint8Array,
    offset: number,
    signal?: AbortSignal,
  ): Promise<number> {
    // A read cannot be stopped: on abort it rejects at once, and Deno's op
    // holds `into` until it ends (the handle comes back then).
    return abortable(
      this.#with(async (file) => {
        // Aborted while it waited for a handle: it reads nothing.
        signal?.throwIfAborted();
        // pread(2) past the file system's largest offset reads nothing.
        if (!seekTo(file, offset)) return 0;
        return (await file.read(into)) ?? 0;
      }),
      signal,
    );
  }

  write(data: Uint8Array, offset: number): Promise<number> {
    return this.#with((file) => {
      if (!seekTo(file, offset)) {
        // What pwrite(2) gives there; AIOFile adds the syscall and the path.
        throw new Error("File too large (os error 27)");
      }
      return file.write(data);
    });
  }

  fsync(signal?: AbortSignal): Promise<void> {
    return abortable(this.#with((file) => file.sync()), signal);
  }

  fdatasync(signal?: AbortSignal): Promise<void> {
    return abortable(this.#with((file) => file.syncData()), signal);
  }

  truncate(length: number): Promise<void> {
    return this.#with((file) => file.truncate(length));
  }

  size(): Promise<number> {
    return this.#with(async (file) =>
      (await statOrUndefined(file))?.size ??
        file.seekSync(0, Deno.SeekMode.End)
    );
  }

  stat(): Promise<Deno.FileInfo> {
    return this.#with((file) =>
      typeof file.stat === "function"
        ? file.stat()
        : Promise.reject(lacking("stat", "<Deno.FsFile>"))
    );
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#reopen = undefined;
    if (this.#owned) {
      for (const file of this.#all) file.close();
    }
    this.#all.length = 0;
    this.#idle.length = 0;
    return Promise.resolve();
  }
}

/** Describes the `deno` backend: always available. */
export const denoProvider = {
  name: "deno" as const,
  unavailableReason: (): string | undefined => undefined,
  create: (): Backend => new DenoBackend(),
};
