/**
 * The pool of aligned buffers for `O_DIRECT` requests: alignment, reuse, and
 * the bounds on what it keeps. The addresses are made up, so these tests need
 * no FFI.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AlignedBuffers,
  POOLED_BYTES_MAX,
  POOLED_LENGTH_MAX,
} from "../impl/ring/policies/aligned_buffers.ts";

/** Made-up addresses: every new buffer starts 8 bytes past a 4 KiB boundary. */
function fakeAddresses(): (buffer: Uint8Array) => bigint {
  let next = 0x10000n;
  const addresses = new WeakMap<ArrayBufferLike, bigint>();
  return (buffer) => {
    let base = addresses.get(buffer.buffer);
    if (base === undefined) {
      base = next + 8n;
      next += 0x1000000n;
      addresses.set(buffer.buffer, base);
    }
    return base + BigInt(buffer.byteOffset);
  };
}

Deno.test("aligned buffers: a buffer of the length asked, at an aligned address", () => {
  const addressOf = fakeAddresses();
  const pool = new AlignedBuffers(addressOf);
  for (const alignment of [512, 4096, 65536]) {
    const buffer = pool.take(12288, alignment);
    assert.equal(buffer.length, 12288);
    assert.equal(addressOf(buffer) % BigInt(alignment), 0n);
  }
});

Deno.test("aligned buffers: one given back is taken again for the same length and alignment", () => {
  const pool = new AlignedBuffers(fakeAddresses());
  const first = pool.take(4096, 4096);
  pool.give(first);
  assert.equal(pool.freeBytes, 4096);
  assert.equal(pool.take(4096, 4096), first);
  assert.equal(pool.freeBytes, 0);
  // Taken, so not handed out twice.
  assert.notEqual(pool.take(4096, 4096), first);
  pool.give(first);
  assert.equal(
    pool.take(4096, 512),
    first,
    "a stricter alignment serves a looser one",
  );
});

Deno.test("aligned buffers: another length or a stricter alignment gets a new buffer", () => {
  const addressOf = fakeAddresses();
  const pool = new AlignedBuffers(addressOf);
  const small = pool.take(4096, 4096);
  pool.give(small);
  const other = pool.take(8192, 4096);
  assert.notEqual(other.buffer, small.buffer);
  const stricter = pool.take(4096, 65536);
  assert.notEqual(stricter, small);
  assert.equal(addressOf(stricter) % 65536n, 0n);
  assert.equal(pool.take(4096, 4096), small, "still there for its alignment");
});

Deno.test("aligned buffers: given back twice, kept once", () => {
  const pool = new AlignedBuffers(fakeAddresses());
  const buffer = pool.take(4096, 4096);
  pool.give(buffer);
  pool.give(buffer);
  assert.equal(pool.freeBytes, 4096);
  assert.equal(pool.take(4096, 4096), buffer);
  assert.notEqual(pool.take(4096, 4096), buffer);
});

Deno.test("aligned buffers: the pool keeps a bounded number of bytes, and no large buffers", () => {
  const pool = new AlignedBuffers(fakeAddresses());
  const large = pool.take(POOLED_LENGTH_MAX + 4096, 4096);
  pool.give(large);
  assert.equal(
    pool.freeBytes,
    0,
    "a buffer above POOLED_LENGTH_MAX is not kept",
  );

  const count = POOLED_BYTES_MAX / POOLED_LENGTH_MAX + 2;
  const buffers = Array.from(
    { length: count },
    () => pool.take(POOLED_LENGTH_MAX, 4096),
  );
  buffers.forEach((buffer) => pool.give(buffer));
  assert.equal(pool.freeBytes, POOLED_BYTES_MAX);
});

Deno.test("aligned buffers: only buffers of the pool are kept", () => {
  const pool = new AlignedBuffers(fakeAddresses());
  pool.give(new Uint8Array(4096));
  assert.equal(pool.freeBytes, 0);
});
