/**
 * The model of the soak test's data file: the bytes it must hold and its
 * length, against which every byte read is checked.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { MiB } from "./format.ts";

/** The file never grows beyond this. */
export const MAX_FILE = 16 * MiB;

/** What the file must hold: `bytes[0, length)`; every byte past `length` is 0. */
export class Model {
  /** The file's bytes, zeros past `length`. */
  readonly bytes = new Uint8Array(MAX_FILE);
  /** The file's length. */
  length = 0;

  /** Applies a write of `data` at `offset`. */
  write(data: Uint8Array, offset: number): void {
    this.bytes.set(data, offset);
    this.length = Math.max(this.length, offset + data.length);
  }

  /** Applies a truncate (or extension with zeros) to `length`. */
  truncate(length: number): void {
    if (length < this.length) this.bytes.fill(0, length, this.length);
    this.length = length;
  }

  /** What a read of `size` bytes (-1: to the end) at `offset` must return. */
  expected(size: number, offset: number): Uint8Array {
    const end = size === -1
      ? this.length
      : Math.min(this.length, offset + size);
    return this.bytes.subarray(Math.min(offset, end), end);
  }
}

/** The index of the first byte that differs, or -1 when `got` equals `expected`. */
export function firstDifference(got: Uint8Array, expected: Uint8Array): number {
  if (
    got.length === expected.length && Buffer.compare(got, expected) === 0
  ) {
    return -1;
  }
  const common = Math.min(got.length, expected.length);
  for (let i = 0; i < common; i++) {
    if (got[i] !== expected[i]) return i;
  }
  return common;
}

/** The byte at `index` for a message (`0x2a`), or `nothing` past the end. */
export function byteAt(bytes: Uint8Array, index: number): string {
  return index < bytes.length
    ? `0x${bytes[index].toString(16).padStart(2, "0")}`
    : "nothing";
}
