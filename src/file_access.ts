/**
 * What the library's helpers (readers, writers, the file wrapper) reach of an
 * `AIOFile` beyond its public methods: `fileAccess(afp)` in `aiofile.ts` gives
 * it. A `signal` given to a call cancels it as `OperationOptions` says. The core defines it; helpers use it; nothing here is exported from
 * `mod.ts`.
 *
 * @module
 */

/** Positional byte reads, as the library's sequential readers need them. */
export interface ByteReadable {
  /**
   * False for a file that cannot seek: a read there consumes what it reads,
   * so nothing is read ahead (a read ahead dropped would lose its bytes), and
   * a read may return fewer bytes than asked before the end (what the stream
   * has); only an empty read is the end.
   */
  readonly seekable: boolean;
  /**
   * Reads up to `size` bytes at `offset` into a new buffer (its own memory);
   * fewer only at the end of the file (for a stream: what it has).
   */
  readBytes(
    size: number,
    offset: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array>;
  /**
   * Reads at `offset` into `into`, which is the caller's until the promise
   * settles and which no one else can reach meanwhile (it goes to the kernel
   * as it is); resolves to the bytes read, fewer than `into.length` only at
   * the end of the file (for a stream: what it has).
   */
  readInto(
    into: Uint8Array,
    offset: number,
    signal?: AbortSignal,
  ): Promise<number>;
}

/** A file, as the library's helpers use it. */
export interface FileAccess extends ByteReadable {
  /**
   * The bytes a write of `data` writes (a `TypeError` for the wrong type;
   * `BadResource` for a file not open for writing): binary data as it is
   * (`owned: false`), text encoded into a new buffer (`owned: true`).
   */
  bytesOf(data: unknown): { bytes: Uint8Array; owned: boolean };
  /** The bytes a write of `data` writes, in a buffer of their own. */
  encode(data: unknown): Uint8Array;
  /**
   * Writes all of `bytes` at `offset`: `owned` bytes are handed over (never
   * touched again), others are copied unless written before this returns.
   */
  write(
    bytes: Uint8Array,
    offset: number,
    owned: boolean,
    signal?: AbortSignal,
  ): Promise<number>;
  /**
   * Records a failed write whose caller has not been told yet: the file's
   * next `fsync`, `fdsync` or `close` rejects with it (once).
   */
  defer(error: unknown): void;
  /** The caller was told of `error` after all: forget it. */
  delivered(error: unknown): void;
}
