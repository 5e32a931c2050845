/**
 * The operations of the soak test, drawn by the seeded PRNG for the file as it
 * is.
 *
 * Per 10 000 operations a fixed-seed PRNG draws 4 850 writes of 1 byte to 64 KiB
 * of random data, 5 010 reads of 1 byte to 64 KiB (1 in 50 up to 4 MiB, 1 in 100
 * to the end of the file), 50 truncates (3 in 4 shrink, 1 in 4 grow), 50
 * `size()` checks, 20 `fsync` and 20 `fdsync`. Offsets are mostly inside the
 * file, 1 in 10 across its end (short reads) and 1 in 10 past it (holes that
 * must read back as zeros, reads of 0 bytes); the file stays under 16 MiB.
 *
 * @module
 */

import { KiB, MiB } from "./format.ts";
import { MAX_FILE } from "./model.ts";
import type { Random } from "./random.ts";

const PAGE = 4 * KiB;

/** The largest ordinary read or write. */
const MAX_IO = 64 * KiB;
/** The largest of the rare big reads (above 1 MiB, `AIOFile.read` asks the size first). */
const MAX_BIG_READ = 4 * MiB;
/** How far past the end of the file an offset may be. */
const MAX_PAST_END = 1 * MiB;
/** How much a growing truncate may add. */
const MAX_GROW = 2 * MiB;
/** Written data is cut from this much random data, at random places. */
const POOL_BYTES = 4 * MiB + MAX_IO;

/** One operation; a write's data is `pool[start, start + size)`. */
export type Op =
  | { readonly kind: "read"; readonly offset: number; readonly size: number }
  | {
    readonly kind: "write";
    readonly offset: number;
    readonly size: number;
    readonly start: number;
  }
  | { readonly kind: "truncate"; readonly length: number }
  | { readonly kind: "size" }
  | { readonly kind: "fsync" }
  | { readonly kind: "fdsync" };

/** The random data writes are cut from (the pool of {@linkcode Op}), filled by `random`. */
export function writePool(random: Random): Uint8Array {
  const pool = new Uint8Array(POOL_BYTES);
  random.fill(pool);
  return pool;
}

/** A size of 1 byte to 64 KiB: uniform, log-uniform (many small ones), or whole pages. */
function ioSize(random: Random): number {
  const roll = random.below(5);
  if (roll < 2) return 1 + random.below(MAX_IO);
  if (roll < 4) return Math.floor(2 ** (random.float() * Math.log2(MAX_IO)));
  return PAGE * (1 + random.below(MAX_IO / PAGE));
}

/** An offset: 8 in 10 inside the file, 1 across its end, 1 past it; 1 in 4 page-aligned. */
function offsetFor(random: Random, length: number, size: number): number {
  const roll = random.below(10);
  const offset = roll < 8
    ? random.below(length + 1)
    : roll < 9
    ? Math.max(0, length - random.below(size + 1))
    : length + 1 + random.below(MAX_PAST_END);
  return random.below(4) === 0 ? offset - offset % PAGE : offset;
}

function writeOp(random: Random, length: number): Op {
  const size = ioSize(random);
  const offset = Math.min(offsetFor(random, length, size), MAX_FILE - size);
  const start = random.below(POOL_BYTES - size + 1);
  return { kind: "write", offset, size, start };
}

function readOp(random: Random, length: number): Op {
  const roll = random.below(100);
  const size = roll === 0
    ? -1
    : roll < 3
    ? 1 + random.below(MAX_BIG_READ)
    : ioSize(random);
  return { kind: "read", offset: offsetFor(random, length, size), size };
}

function truncateOp(random: Random, length: number): Op {
  const grow = random.below(4) === 0;
  return {
    kind: "truncate",
    length: grow
      ? Math.min(MAX_FILE, length + random.below(MAX_GROW + 1))
      : random.below(length + 1),
  };
}

/** How often each operation comes, per 10 000. */
const MIX: readonly [number, (random: Random, length: number) => Op][] = [
  [4850, writeOp],
  [5010, readOp],
  [50, truncateOp],
  [50, () => ({ kind: "size" })],
  [20, () => ({ kind: "fsync" })],
  [20, () => ({ kind: "fdsync" })],
];

/** The next operation for a file of `length` bytes. */
export function nextOp(random: Random, length: number): Op {
  let roll = random.below(10_000);
  for (const [weight, make] of MIX) {
    if (roll < weight) return make(random, length);
    roll -= weight;
  }
  throw new Error("the weights of MIX must add up to 10 000");
}

/** Operations that must run alone: their outcome depends on every byte range. */
export function alone(op: Op): boolean {
  return op.kind === "truncate" || op.kind === "size";
}

/** The call an operation makes, for a message: `read(4096, 8192)`. */
export function describe(op: Op): string {
  switch (op.kind) {
    case "read":
      return op.size === -1
        ? `read(-1, ${op.offset})`
        : `read(${op.size}, ${op.offset})`;
    case "write":
      return `write(<${op.size} bytes>, ${op.offset})`;
    case "truncate":
      return `truncate(${op.length})`;
    default:
      return `${op.kind}()`;
  }
}
