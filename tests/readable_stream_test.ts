/**
 * The file wrappers' `readable`, a byte stream: whole reads for default
 * readers, reads straight into the buffers of BYOB readers, and the two taking
 * turns; on every backend.
 *
 * @module
 */

import assert from "node:assert/strict";
import { asyncOpen } from "../mod.ts";
import { OpenFile } from "../src/open_file.ts";
import { READ_REQUEST_MAX } from "../src/chunks.ts";
import { backendTest, joinBytes } from "./backends.ts";

/** `size` bytes that differ from their neighbours, so a misplaced range shows. */
function pattern(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 7 + (i >> 13)) & 255);
}

/** Reads to the end with one BYOB reader and one buffer of `size` bytes. */
async function readAllByob(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
  size: number,
): Promise<{ bytes: Uint8Array; buffers: Set<number> }> {
  const reader = stream.getReader({ mode: "byob" });
  const parts: Uint8Array[] = [];
  const buffers = new Set<number>();
  let buffer = new ArrayBuffer(size);
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    parts.push(value.slice());
    buffers.add(value.buffer.byteLength);
    buffer = value.buffer;
  }
  return { bytes: joinBytes(parts), buffers };
}

/**
 * Asserts that `actual` holds the bytes of `expected`, naming the first that
 * differs (a deep comparison of megabytes would take minutes to describe).
 */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const length = Math.min(actual.length, expected.length);
  let at = 0;
  while (at < length && actual[at] === expected[at]) at++;
  assert.ok(
    at === length && actual.length === expected.length,
    `${actual.length} bytes against ${expected.length}; the first difference is at ${at}`,
  );
}

backendTest(
  "readable: a BYOB reader fills one buffer read after read, from the position",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = pattern(3 * 2 ** 20 + 123);
    await Deno.writeFile(path, data);
    await using afp = await asyncOpen(path, "rb", { context });
    afp.seek(5);
    // An odd size, so that reads end mid-page and the last one is short.
    const { bytes, buffers } = await readAllByob(afp.readable, 10_007);
    assertSameBytes(bytes, data.subarray(5));
    assert.deepEqual([...buffers], [10_007], "the same buffer came back");
    assert.equal(afp.tell(), data.length);
  },
);

backendTest(
  "readable: a BYOB read reads the file then, not bytes read ahead earlier",
  async (context, dir) => {
    const path = `${dir}/data`;
    await Deno.writeFile(path, new Uint8Array(100_000));
    await using afp = await asyncOpen(path, "rb", { context });
    const reader = afp.readable.getReader({ mode: "byob" });
    const first = await reader.read(new Uint8Array(100));
    assert.deepEqual(first.value, new Uint8Array(100));
    // Written by another handle, after the first read and right behind it.
    using other = await Deno.open(path, { write: true });
    await other.seek(100, Deno.SeekMode.Start);
    await other.write(new Uint8Array(100).fill(0xab));
    const second = await reader.read(new Uint8Array(100));
    assert.deepEqual(second.value, new Uint8Array(100).fill(0xab));
  },
);

backendTest(
  "readable: default and BYOB readers taking turns get the bytes in order",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = pattern(5 * 2 ** 20 + 77);
    await Deno.writeFile(path, data);
    await using afp = await asyncOpen(path, "rb", { context });
    const stream = afp.readable;
    const parts: Uint8Array[] = [];
    for (let turn = 0; turn < 3; turn++) {
      // Enough default reads for the reads ahead to grow past what they return.
      const chunks = stream.getReader();
      for (let i = 0; i < 4; i++) {
        const { value } = await chunks.read();
        parts.push(value!);
      }
      chunks.releaseLock();
      const byob = stream.getReader({ mode: "byob" });
      for (let i = 0; i < 3; i++) {
        const { value } = await byob.read(new Uint8Array(4099));
        parts.push(value!);
      }
      byob.releaseLock();
    }
    const rest = await Array.fromAsync(stream);
    assertSameBytes(joinBytes([...parts, ...rest]), data);
    assert.equal(afp.tell(), data.length);
  },
);

backendTest(
  "readable: a default reader gets whole reads, growing to 1 MiB",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = pattern(6 * 2 ** 20 + 5);
    await Deno.writeFile(path, data);
    await using afp = await asyncOpen(path, "rb", { context });
    const chunks = await Array.fromAsync(afp.readable);
    assertSameBytes(joinBytes(chunks), data);
    assert.equal(Math.max(...chunks.map((c) => c.length)), READ_REQUEST_MAX);
    // Each its own buffer, as the stream transfers it: nothing shared.
    assert.equal(new Set(chunks.map((c) => c.buffer)).size, chunks.length);
  },
);

backendTest(
  "readable: cancelling during a BYOB read delivers nothing and leaves the position",
  async (context, dir) => {
    const path = `${dir}/data`;
    await Deno.writeFile(path, pattern(50_000));
    await using afp = await asyncOpen(path, "rb", { context });
    afp.seek(10);
    const reader = afp.readable.getReader({ mode: "byob" });
    assert.equal((await reader.read(new Uint8Array(10))).value?.length, 10);
    // The stream is idle again after a macrotask: the next read pulls at once.
    await new Promise((resolve) => setTimeout(resolve, 0));
    // A read of the wrapper's first, so that the stream's read is still
    // waiting its turn when the stream is cancelled.
    const before = afp.read(5);
    const reading = reader.read(new Uint8Array(1000));
    await reader.cancel();
    assert.deepEqual(await before, pattern(25).subarray(20));
    const { done } = await reading;
    assert.equal(done, true);
    // The stream's read ran, but what it read was not delivered.
    assert.equal(afp.tell(), 25);
    assert.deepEqual(await afp.read(3), pattern(28).subarray(25));
  },
);

backendTest(
  "readable: a BYOB reader at the end of the file is done at once",
  async (context, dir) => {
    const path = `${dir}/data`;
    await Deno.writeFile(path, pattern(10));
    await using afp = await asyncOpen(path, "r", { context });
    afp.seek(10);
    const reader = afp.readable.getReader({ mode: "byob" });
    const { done, value } = await reader.read(new Uint8Array(16));
    assert.equal(done, true);
    assert.equal(value?.length ?? 0, 0);
  },
);

backendTest(
  "readable: on an O_DIRECT file, BYOB views of aligned size are read straight in, others refused",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = pattern(256 * 1024 + 1000);
    await Deno.writeFile(path, data);
    {
      await using afp = await asyncOpen(path, "rb", { context, direct: true });
      const { bytes } = await readAllByob(afp.readable, 65536);
      assertSameBytes(bytes, data);
    }
    await using afp = await asyncOpen(path, "rb", { context, direct: true });
    await assert.rejects(
      readAllByob(afp.readable, 10_007),
      (error: Error) =>
        error instanceof RangeError && /multiples of/.test(error.message),
    );
  },
  { only: ["uring", "linux"] },
);

backendTest(
  "readable: a cancel at any point after the read moves the position only with bytes delivered",
  async (context, dir) => {
    const path = `${dir}/data`;
    await Deno.writeFile(path, pattern(1000));
    // Holds each finished read until the test lets it go, so that the cancel
    // can land at every step between the read and its delivery.
    const readInto = OpenFile.prototype.readInto;
    let gate = Promise.resolve();
    OpenFile.prototype.readInto = async function (into, offset, target, whole) {
      const n = await readInto.call(this, into, offset, target, whole);
      if (target === "library") await gate;
      return n;
    };
    try {
      for (let hops = 0; hops < 6; hops++) {
        await using afp = await asyncOpen(path, "rb", { context });
        let open!: () => void;
        gate = new Promise((resolve) => open = resolve);
        const reader = afp.readable.getReader({ mode: "byob" });
        const reading = reader.read(new Uint8Array(100));
        await new Promise((resolve) => setTimeout(resolve, 10));
        open();
        for (let i = 0; i < hops; i++) await Promise.resolve();
        await reader.cancel();
        const { value } = await reading;
        assert.equal(afp.tell(), value?.length ?? 0, `cancelled ${hops} later`);
      }
    } finally {
      OpenFile.prototype.readInto = readInto;
    }
  },
);

backendTest(
  "readable: like the iterators, the stream keeps its own place across a seek",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = pattern(300_000);
    await Deno.writeFile(path, data);
    await using afp = await asyncOpen(path, "rb", { context });
    const stream = afp.readable;
    const chunks = stream.getReader();
    const first = (await chunks.read()).value!;
    afp.seek(0);
    const second = (await chunks.read()).value!;
    chunks.releaseLock();
    const third = (await stream.getReader({ mode: "byob" }).read(
      new Uint8Array(16),
    )).value!;
    const taken = first.length + second.length + third.length;
    assertSameBytes(joinBytes([first, second, third]), data.subarray(0, taken));
    assert.equal(afp.tell(), taken);
  },
);
