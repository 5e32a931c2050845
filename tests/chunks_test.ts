/**
 * The chunk source under `Reader`, `LineReader`, `iterChunked` and `readable`:
 * how much it asks of the file, and when. A file in memory records the reads.
 */

import assert from "node:assert/strict";
import {
  type ChunkOwnership,
  ChunkSource,
  READ_REQUEST_MAX,
} from "../src/chunks.ts";
import type { ByteReadable } from "../src/file_access.ts";

const OWNERSHIPS: readonly ChunkOwnership[] = ["owned", "borrowed"];

/**
 * An in-memory file that records each read it serves. A buffer handed to
 * `readInto` while another read into it is in flight fails the read.
 */
class RecordingFile implements ByteReadable {
  readonly seekable = true;
  data: Uint8Array;
  readonly reads: { size: number; offset: number; buffer: ArrayBuffer }[] = [];
  failAt: number | undefined;
  /** Reads settle in a later macrotask, in the order they were made. */
  slow = false;
  readonly #inFlight = new Set<ArrayBuffer>();

  constructor(size: number) {
    this.data = Uint8Array.from({ length: size }, (_, i) => i % 251);
  }

  async readBytes(size: number, offset: number): Promise<Uint8Array> {
    const into = new Uint8Array(size);
    return into.subarray(0, await this.readInto(into, offset));
  }

  async readInto(into: Uint8Array, offset: number): Promise<number> {
    const buffer = into.buffer as ArrayBuffer;
    if (this.#inFlight.has(buffer)) {
      throw new Error("a buffer was read into by two reads at once");
    }
    this.#inFlight.add(buffer);
    this.reads.push({ size: into.length, offset, buffer });
    try {
      if (this.slow) await new Promise((resolve) => setTimeout(resolve, 1));
      else await Promise.resolve();
      if (this.failAt !== undefined && offset <= this.failAt) {
        if (this.failAt < offset + into.length) {
          throw new Error(`failed at ${offset}`);
        }
      }
      const bytes = this.data.subarray(offset, offset + into.length);
      into.set(bytes);
      return bytes.length;
    } finally {
      this.#inFlight.delete(buffer);
    }
  }

  get requested(): number {
    return this.reads.reduce((sum, read) => sum + read.size, 0);
  }

  /** Where the furthest read asked for ends. */
  get requestedEnd(): number {
    return Math.max(0, ...this.reads.map((read) => read.offset + read.size));
  }
}

/** The chunks up to the end; copies of them when they are borrowed. */
async function drain(
  source: ChunkSource,
  ownership: ChunkOwnership = "owned",
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (let chunk; (chunk = await source.next()).length > 0;) {
    chunks.push(ownership === "borrowed" ? chunk.slice() : chunk);
  }
  return chunks;
}

function join(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, (at += chunk.length) - chunk.length);
  }
  return all;
}

for (const ownership of OWNERSHIPS) {
  Deno.test(`ChunkSource (${ownership}): a one-off chunk costs one read of one chunk`, async () => {
    const file = new RecordingFile(10 * 2 ** 20);
    const source = new ChunkSource(file, 100, 4096, 2 ** 21, ownership);
    const chunk = await source.next();
    assert.deepEqual(chunk, file.data.subarray(100, 4196));
    await Promise.resolve();
    assert.deepEqual(
      file.reads.map(({ size, offset }) => ({ size, offset })),
      [{ size: 4096, offset: 100 }],
    );
  });

  Deno.test(`ChunkSource (${ownership}): a long sequential read goes in large reads`, async () => {
    const size = 8 * 2 ** 20 + 123;
    const file = new RecordingFile(size);
    const chunkSize = 65536;
    const source = new ChunkSource(file, 0, chunkSize, 2 ** 21, ownership);
    const chunks = await drain(source, ownership);
    assert.deepEqual(join(chunks), file.data);
    assert.ok(chunks.slice(0, -1).every((c) => c.length === chunkSize));
    // Most bytes come in reads of READ_REQUEST_MAX once the pass is under way.
    const large = file.reads.filter((read) => read.size === READ_REQUEST_MAX);
    assert.ok(large.length * READ_REQUEST_MAX > size / 2, `${large.length}`);
    // Nothing is asked twice, nor far past the end.
    assert.ok(file.requested < size + 2 * READ_REQUEST_MAX);
    // Up to the end of the file, reads are contiguous and never overlap.
    let next = 0;
    for (const read of file.reads.filter((read) => read.offset < size)) {
      assert.equal(read.offset, next);
      next += read.size;
    }
  });

  Deno.test(`ChunkSource (${ownership}): what is read ahead stays within readAheadBytes`, async () => {
    for (const readAheadBytes of [0, 1, 10000, 2 ** 20, 2 ** 21]) {
      const file = new RecordingFile(4 * 2 ** 20);
      const chunkSize = 4096;
      const source = new ChunkSource(
        file,
        0,
        chunkSize,
        readAheadBytes,
        ownership,
      );
      let taken = 0;
      let furthest = 0;
      for (let chunk; (chunk = await source.next()).length > 0;) {
        assert.deepEqual(
          chunk,
          file.data.subarray(taken, taken + chunk.length),
        );
        taken += chunk.length;
        furthest = Math.max(furthest, file.requestedEnd - taken);
      }
      assert.equal(taken, file.data.length);
      // One chunk ahead at least, unless reading ahead is off.
      assert.ok(
        furthest <= Math.max(readAheadBytes, readAheadBytes && chunkSize),
        `readAheadBytes ${readAheadBytes}: ${furthest} bytes ahead`,
      );
      if (readAheadBytes >= 2 ** 20) assert.ok(furthest >= readAheadBytes / 2);
      if (readAheadBytes === 0) {
        assert.ok(file.reads.every((read) => read.size === chunkSize));
      }
    }
  });

  Deno.test(`ChunkSource (${ownership}): a small file is not read far past its end`, async () => {
    const file = new RecordingFile(100_000);
    const source = new ChunkSource(file, 0, 4096, 2 ** 21, ownership);
    assert.deepEqual(join(await drain(source, ownership)), file.data);
    // The allowance grows with what is taken: about as much again, not 2 MiB.
    assert.ok(
      file.requested < 3 * 100_000,
      `${file.requested} bytes requested`,
    );
  });

  Deno.test(`ChunkSource (${ownership}): after the end, data appended meanwhile is read`, async () => {
    const file = new RecordingFile(10_000);
    const source = new ChunkSource(file, 0, 4096, 2 ** 21, ownership);
    assert.equal(join(await drain(source, ownership)).length, 10_000);
    const longer = new Uint8Array(30_000).fill(9);
    longer.set(file.data);
    file.data = longer;
    const rest = await drain(source, ownership);
    assert.deepEqual(join(rest), longer.subarray(10_000));
  });

  Deno.test(`ChunkSource (${ownership}): a failed read rejects its chunk, and the next call retries there`, async () => {
    for (const slow of [false, true]) {
      const file = new RecordingFile(2 ** 20);
      // Slow reads are still in flight when the failure drops them.
      file.slow = slow;
      file.failAt = 300_000;
      const source = new ChunkSource(file, 0, 4096, 2 ** 21, ownership);
      const chunks: Uint8Array[] = [];
      let error: unknown;
      try {
        for (;;) {
          const chunk = await source.next();
          chunks.push(ownership === "borrowed" ? chunk.slice() : chunk);
        }
      } catch (caught) {
        error = caught;
      }
      assert.match(String(error), /failed at/);
      // Every chunk before the failed read was delivered, in order.
      const got = join(chunks);
      assert.deepEqual(got, file.data.subarray(0, got.length));
      assert.ok(got.length <= 300_000);
      file.failAt = undefined;
      const rest = join(await drain(source, ownership));
      assert.deepEqual(join([got, rest]), file.data);
    }
  });
}

Deno.test("ChunkSource (owned): chunks are views of their read's buffer, which is never read into again", async () => {
  const file = new RecordingFile(8 * 2 ** 20);
  const chunks = await drain(new ChunkSource(file, 0, 65536, 2 ** 21));
  // Several chunks share the buffer of one read, each its own range of it.
  const shared = chunks.filter((c) => c.buffer.byteLength > c.length);
  assert.ok(shared.length > chunks.length / 2);
  assert.equal(
    new Set(file.reads.map((read) => read.buffer)).size,
    file.reads.length,
  );
  // So every chunk kept still holds its bytes.
  assert.deepEqual(join(chunks), file.data);
});

Deno.test("ChunkSource (borrowed): a long pass reads into a few buffers, again and again", async () => {
  const file = new RecordingFile(32 * 2 ** 20);
  const source = new ChunkSource(file, 0, 65536, 2 ** 21, "borrowed");
  assert.deepEqual(join(await drain(source, "borrowed")), file.data);
  const large = file.reads.filter((read) => read.size === READ_REQUEST_MAX);
  assert.ok(large.length >= 25, `${large.length} large reads`);
  // Once the pass is under way: one buffer being taken, reads ahead in the
  // others.
  const buffers = new Set(large.map((read) => read.buffer)).size;
  assert.ok(buffers <= 4, `${buffers} buffers for ${large.length} reads`);
  // Smaller buffers only while the reads grow.
  let allocated = 0;
  for (const buffer of new Set(file.reads.map((read) => read.buffer))) {
    allocated += buffer.byteLength;
  }
  assert.ok(allocated <= 8 * READ_REQUEST_MAX, `${allocated} bytes allocated`);
});

Deno.test("ChunkSource (borrowed): chunks hold their bytes until next() is called after a chunk of a later read", async () => {
  const size = 12 * 2 ** 20 + 5000;
  const file = new RecordingFile(size);
  for (const chunkSize of [4096, 65536, 100_000]) {
    const source = new ChunkSource(file, 0, chunkSize, 2 ** 21, "borrowed");
    /** The chunks of the last chunk's read, and of the read before it. */
    let held: { chunk: Uint8Array; at: number }[] = [];
    let at = 0;
    for (let chunk; (chunk = await source.next()).length > 0;) {
      // The chunks of this one's read are held, and those of the last one's
      // when this one starts a new read.
      const last = held.at(-1)?.chunk.buffer;
      held = held.filter((h) =>
        h.chunk.buffer === chunk.buffer || h.chunk.buffer === last
      );
      held.push({ chunk, at });
      at += chunk.length;
      for (const h of held) {
        assert.deepEqual(
          h.chunk,
          file.data.subarray(h.at, h.at + h.chunk.length),
          `chunk at ${h.at} changed (chunk size ${chunkSize})`,
        );
      }
    }
    assert.equal(at, size);
  }
});

Deno.test("ChunkSource (borrowed): an empty chunk at the end of the file leaves the chunks before it intact", async () => {
  for (const polls of [1, 2, 3]) {
    const file = new RecordingFile(10_000);
    // One chunk holds the whole file: its read's buffer and the empty reads'
    // are the only buffers, so a wrongly freed one is soon read into.
    const source = new ChunkSource(file, 0, 16384, 2 ** 21, "borrowed");
    const last = await source.next();
    const expected = file.data.slice();
    assert.deepEqual(last, expected);
    // The end is seen (as a reader following a growing file polls it).
    for (let i = 0; i < polls; i++) {
      assert.equal((await source.next()).length, 0);
    }
    // The file grows: the next read must not go into the buffer of the last
    // chunk, which the caller may still hold.
    const longer = new Uint8Array(20_000).fill(9);
    longer.set(file.data);
    file.data = longer;
    const more = await source.next();
    assert.deepEqual(more, longer.subarray(10_000));
    assert.deepEqual(last, expected, `after ${polls} polls`);
  }
});
