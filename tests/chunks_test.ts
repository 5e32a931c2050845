/**
 * The chunk source under `Reader`, `LineReader`, `iterChunked` and `readable`:
 * how much it asks of the file, and when. A file in memory records the reads.
 */

import assert from "node:assert/strict";
import {
  type ByteReadable,
  ChunkSource,
  READ_REQUEST_MAX,
} from "../src/chunks.ts";

/** An in-memory file that records each read it serves. */
class RecordingFile implements ByteReadable {
  data: Uint8Array;
  readonly reads: { size: number; offset: number }[] = [];
  failAt: number | undefined;

  constructor(size: number) {
    this.data = Uint8Array.from({ length: size }, (_, i) => i % 251);
  }

  async readBytes(size: number, offset: number): Promise<Uint8Array> {
    this.reads.push({ size, offset });
    await Promise.resolve();
    if (this.failAt !== undefined && offset <= this.failAt) {
      if (this.failAt < offset + size) throw new Error(`failed at ${offset}`);
    }
    return this.data.slice(offset, offset + size);
  }

  get requested(): number {
    return this.reads.reduce((sum, read) => sum + read.size, 0);
  }

  /** Where the furthest read asked for ends. */
  get requestedEnd(): number {
    return Math.max(0, ...this.reads.map((read) => read.offset + read.size));
  }
}

async function drain(source: ChunkSource): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (let chunk; (chunk = await source.next()).length > 0;) chunks.push(chunk);
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

Deno.test("ChunkSource: a one-off chunk costs one read of one chunk", async () => {
  const file = new RecordingFile(10 * 2 ** 20);
  const source = new ChunkSource(file, 100, 4096, 2 ** 21);
  const chunk = await source.next();
  assert.deepEqual(chunk, file.data.subarray(100, 4196));
  await Promise.resolve();
  assert.deepEqual(file.reads, [{ size: 4096, offset: 100 }]);
});

Deno.test("ChunkSource: a long sequential read goes in large reads, chunks are views of them", async () => {
  const size = 8 * 2 ** 20 + 123;
  const file = new RecordingFile(size);
  const chunkSize = 65536;
  const chunks = await drain(new ChunkSource(file, 0, chunkSize, 2 ** 21));
  assert.deepEqual(join(chunks), file.data);
  assert.ok(chunks.slice(0, -1).every((c) => c.length === chunkSize));
  // Up to READ_REQUEST_MAX at a time once the pass is under way.
  // Most bytes come in reads of READ_REQUEST_MAX once the pass is under way.
  const large = file.reads.filter((read) => read.size === READ_REQUEST_MAX);
  assert.ok(large.length * READ_REQUEST_MAX > size / 2, `${large.length}`);
  // Nothing is asked twice, nor far past the end.
  assert.ok(file.requested < size + 2 * READ_REQUEST_MAX);
  // Several chunks share the buffer of one read, each its own range of it.
  const shared = chunks.filter((c) => c.buffer.byteLength > c.length);
  assert.ok(shared.length > chunks.length / 2);
  // Up to the end of the file, reads are contiguous and never overlap.
  let next = 0;
  for (const read of file.reads.filter((read) => read.offset < size)) {
    assert.equal(read.offset, next);
    next += read.size;
  }
});

Deno.test("ChunkSource: what is read ahead stays within readAheadBytes", async () => {
  for (const readAheadBytes of [0, 1, 10000, 2 ** 20, 2 ** 21]) {
    const file = new RecordingFile(4 * 2 ** 20);
    const chunkSize = 4096;
    const source = new ChunkSource(file, 0, chunkSize, readAheadBytes);
    let taken = 0;
    let furthest = 0;
    for (let chunk; (chunk = await source.next()).length > 0;) {
      assert.deepEqual(chunk, file.data.subarray(taken, taken + chunk.length));
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

Deno.test("ChunkSource: a small file is not read far past its end", async () => {
  const file = new RecordingFile(100_000);
  const chunks = await drain(new ChunkSource(file, 0, 4096, 2 ** 21));
  assert.deepEqual(join(chunks), file.data);
  // The allowance grows with what is taken: about as much again, not 2 MiB.
  assert.ok(file.requested < 3 * 100_000, `${file.requested} bytes requested`);
});

Deno.test("ChunkSource: after the end, data appended meanwhile is read", async () => {
  const file = new RecordingFile(10_000);
  const source = new ChunkSource(file, 0, 4096, 2 ** 21);
  assert.equal(join(await drain(source)).length, 10_000);
  const longer = new Uint8Array(30_000).fill(9);
  longer.set(file.data);
  file.data = longer;
  const rest = await drain(source);
  assert.deepEqual(join(rest), longer.subarray(10_000));
});

Deno.test("ChunkSource: a failed read rejects its chunk, and the next call retries there", async () => {
  const file = new RecordingFile(2 ** 20);
  file.failAt = 300_000;
  const source = new ChunkSource(file, 0, 4096, 2 ** 21);
  const chunks: Uint8Array[] = [];
  let error: unknown;
  try {
    for (;;) chunks.push(await source.next());
  } catch (caught) {
    error = caught;
  }
  assert.match(String(error), /failed at/);
  // Every chunk before the failed read was delivered, in order.
  const got = join(chunks);
  assert.deepEqual(got, file.data.subarray(0, got.length));
  assert.ok(got.length <= 300_000);
  file.failAt = undefined;
  const rest = join(await drain(source));
  assert.deepEqual(join([got, rest]), file.data);
});
