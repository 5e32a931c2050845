/**
 * Runs the soak test's operations on the data file and checks every result
 * against the model: each batch's reads against the model as it was before the
 * batch, then the batch's writes (or truncate) applied to it. Counts what ran.
 *
 * @module
 */

import type { AIOFile } from "../../mod.ts";
import { message } from "./format.ts";
import { byteAt, firstDifference, Model } from "./model.ts";
import { describe, type Op } from "./operations.ts";

/** The data file, as first opened (`w+b`) or reopened (`r+b`). */
export type SoakFile = AIOFile<"w+b" | "r+b">;

/** A byte that differs from the model, or an operation that failed. */
export class SoakFailure extends Error {}

/** What one backend's run counted. */
export interface Counts {
  reads: number;
  shortReads: number;
  emptyReads: number;
  writes: number;
  pastEndWrites: number;
  truncates: number;
  grows: number;
  sizes: number;
  syncs: number;
  reopens: number;
  contexts: number;
  batches: number;
  maxBatch: number;
  bytesChecked: number;
  bytesWritten: number;
}

function zeroCounts(): Counts {
  return {
    reads: 0,
    shortReads: 0,
    emptyReads: 0,
    writes: 0,
    pastEndWrites: 0,
    truncates: 0,
    grows: 0,
    sizes: 0,
    syncs: 0,
    reopens: 0,
    contexts: 0,
    batches: 0,
    maxBatch: 0,
    bytesChecked: 0,
    bytesWritten: 0,
  };
}

/** The model of one backend's data file, the operations run on it, and their counts. */
export class Verifier {
  /** What ran (`reopens` and `contexts` are counted by the caller). */
  readonly counts: Counts = zeroCounts();
  /** What the file must hold. */
  readonly model: Model = new Model();
  readonly #pool: Uint8Array;
  /** The operations run before the current batch, for messages. */
  #done = 0;

  /** @param pool The random data writes are cut from. */
  constructor(pool: Uint8Array) {
    this.#pool = pool;
  }

  /**
   * Runs `ops` (a batch) at once on `file`, checks their results and applies
   * them to the model; `done` operations ran before (for messages). Throws
   * {@linkcode SoakFailure} at the first failure.
   */
  async runBatch(file: SoakFile, ops: Op[], done: number): Promise<void> {
    this.#done = done;
    const settled = await Promise.allSettled(
      ops.map((op) => this.#issue(file, op)),
    );
    settled.forEach((result, i) => {
      if (result.status === "rejected") {
        throw this.#failure(ops[i], `failed: ${message(result.reason)}`);
      }
      this.#check(ops[i], result.value);
    });
    const length = this.model.length;
    for (const op of ops) this.#apply(op, length);
    this.counts.batches++;
    this.counts.maxBatch = Math.max(this.counts.maxBatch, ops.length);
  }

  /** Checks the size and every byte of `file` against the model. */
  async checkWhole(file: SoakFile): Promise<void> {
    const size = await file.size();
    if (size !== this.model.length) {
      throw this.#failure(
        undefined,
        `size() resolved to ${size}, expected ${this.model.length}`,
      );
    }
    this.#checkBytes(undefined, await file.read(-1, 0), -1, 0);
  }

  #data(op: Op & { kind: "write" }): Uint8Array {
    return this.#pool.subarray(op.start, op.start + op.size);
  }

  #issue(file: SoakFile, op: Op): Promise<Uint8Array | number | void> {
    switch (op.kind) {
      case "read":
        return file.read(op.size, op.offset);
      case "write":
        return file.write(this.#data(op), op.offset);
      case "truncate":
        return file.truncate(op.length);
      case "size":
        return file.size();
      case "fsync":
        return file.fsync();
      case "fdsync":
        return file.fdsync();
    }
  }

  /** Checks a result against the model as it was before the batch. */
  #check(op: Op, value: Uint8Array | number | void): void {
    if (op.kind === "read") {
      this.#checkBytes(op, value as Uint8Array, op.size, op.offset);
    } else if (op.kind === "write" && value !== op.size) {
      throw this.#failure(op, `resolved to ${value}, expected ${op.size}`);
    } else if (op.kind === "size" && value !== this.model.length) {
      throw this.#failure(
        op,
        `resolved to ${value}, expected ${this.model.length}`,
      );
    }
  }

  /** Checks bytes read; `op` is undefined for the read of the whole file. */
  #checkBytes(
    op: Op | undefined,
    got: Uint8Array,
    size: number,
    offset: number,
  ): void {
    const expected = this.model.expected(size, offset);
    const at = firstDifference(got, expected);
    if (at !== -1) {
      const lengths = got.length === expected.length
        ? `returned ${got.length} bytes as expected, but not the right ones`
        : `returned ${got.length} bytes, expected ${expected.length}`;
      throw this.#failure(
        op,
        `${lengths} (the model's file holds ${this.model.length}); first difference at file offset ${
          offset + at
        }: got ${byteAt(got, at)}, expected ${byteAt(expected, at)}`,
      );
    }
    this.counts.bytesChecked += got.length;
    if (op === undefined) return;
    this.counts.reads++;
    if (got.length === 0) this.counts.emptyReads++;
    else if (size !== -1 && got.length < size) this.counts.shortReads++;
  }

  /** Applies a completed operation to the model; `length` is the one before its batch. */
  #apply(op: Op, length: number): void {
    const counts = this.counts;
    switch (op.kind) {
      case "write":
        this.model.write(this.#data(op), op.offset);
        counts.writes++;
        counts.bytesWritten += op.size;
        if (op.offset > length) counts.pastEndWrites++;
        break;
      case "truncate":
        this.model.truncate(op.length);
        counts.truncates++;
        if (op.length > length) counts.grows++;
        break;
      case "size":
        counts.sizes++;
        break;
      case "fsync":
      case "fdsync":
        counts.syncs++;
        break;
    }
  }

  /** A failure of `op`, or with undefined, of the read of the whole file. */
  #failure(op: Op | undefined, what: string): SoakFailure {
    const where = op === undefined
      ? "reading the whole file after reopening it"
      : `${describe(op)} in batch ${
        this.counts.batches + 1
      } (after ${this.#done} operations)`;
    return new SoakFailure(`${where} ${what}`);
  }
}
