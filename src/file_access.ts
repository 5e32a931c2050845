/**
 * The types of what the core offers the helpers built on `AIOFile` (chunk
 * sources, readers, wrappers) beyond its public methods. They are defined here,
 * apart from the helpers, so that the core (`aiofile.ts`) names them without
 * importing a helper: imports run from the helpers to the core, never back.
 *
 * @module
 */

/**
 * What a chunk source needs of a file: positional byte reads
 * (`fileInternals.ownReads` of `aiofile.ts` gives them).
 */
export interface ByteReadable {
  /**
   * False for a file that cannot seek: a read there consumes what it reads,
   * so nothing is read ahead (a read ahead dropped would lose its bytes), and
   * a read may return fewer bytes than asked before the end (what the stream
   * has); only an empty read is the end.
   */
  readonly seekable: boolean;
  /** Reads up to `size` bytes at `offset` into a new buffer; fewer only at the end of the file. */
  readBytes(size: number, offset: number): Promise<Uint8Array>;
  /**
   * Reads at `offset` into `into`, which is the caller's until the promise
   * settles; resolves to the bytes read, fewer than `into.length` only at the
   * end of the file.
   */
  readInto(into: Uint8Array, offset: number): Promise<number>;
}
