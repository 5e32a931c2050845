/**
 * `LineReader` in binary mode on every backend: each line owns its memory
 * exactly, whatever the separator and the chunk boundaries, and the offset
 * follows the lines returned.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, LineReader } from "../mod.ts";
import { backendTest } from "./backends.ts";

const encoder = new TextEncoder();

/** `text` cut after each `separator`, each piece as bytes. */
function expectedLines(text: string, separator: string): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let at; (at = text.indexOf(separator, start)) !== -1;) {
    lines.push(encoder.encode(text.slice(start, at + separator.length)));
    start = at + separator.length;
  }
  if (start < text.length) lines.push(encoder.encode(text.slice(start)));
  return lines;
}

/**
 * Throws unless every line has a buffer of its own holding its bytes and
 * nothing else, shared with no other line.
 */
function assertOwnMemory(lines: readonly Uint8Array[], what: string): void {
  const buffers = new Set<ArrayBufferLike>();
  lines.forEach((line, i) => {
    assert.equal(line.byteOffset, 0, `${what}: line ${i} byteOffset`);
    assert.equal(
      line.buffer.byteLength,
      line.length,
      `${what}: line ${i} of ${line.length} bytes has a buffer of ${line.buffer.byteLength}`,
    );
    buffers.add(line.buffer);
  });
  assert.equal(buffers.size, lines.length, `${what}: buffers shared`);
}

/** Throws unless `lines` are `expected`, naming the first line that differs. */
function assertLines(
  lines: readonly Uint8Array[],
  expected: readonly Uint8Array[],
  what: string,
): void {
  const differs = (a: Uint8Array, b: Uint8Array) =>
    a.length !== b.length || a.some((byte, i) => byte !== b[i]);
  const at = expected.findIndex((line, i) =>
    lines[i] === undefined || differs(lines[i], line)
  );
  assert.ok(at === -1, `${what}: line ${at} differs`);
  assert.equal(lines.length, expected.length, `${what}: line count`);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

backendTest(
  "LineReader: every binary line owns its memory exactly, across chunk boundaries",
  async (context, dir) => {
    const path = `${dir}/lines`;
    for (const lineSep of ["\n", "\r\n", "||", "→", "😀"]) {
      // Empty lines, a separator cut by every chunk boundary, overlapping
      // separators ("|||" for "||"), and a last line without one.
      const pieces = ["first", "", "é😀\r", "a|", "|", "x".repeat(300), "last"];
      const text = pieces.join(lineSep);
      await Deno.writeTextFile(path, text);
      const expected = expectedLines(text, lineSep);
      await using afp = await AIOFile.open(path, "rb", { context });
      for (const chunkSize of [1, 2, 3, 4, 5, 7, 64, 65536]) {
        const what = `${JSON.stringify(lineSep)} chunkSize ${chunkSize}`;
        const lines = await collect(
          new LineReader(afp, { lineSep, chunkSize }),
        );
        assertLines(lines, expected, what);
        assertOwnMemory(lines, what);
        // One at a time too, by readLine.
        const reader = new LineReader(afp, { lineSep, chunkSize });
        const one: Uint8Array[] = [];
        for (let line; (line = await reader.readLine()).length > 0;) {
          one.push(line);
        }
        assertLines(one, expected, `${what}, readLine`);
        assertOwnMemory(one, `${what}, readLine`);
      }
    }
  },
);

backendTest(
  "LineReader: binary lines kept over many reads own their memory and keep their bytes",
  async (context, dir) => {
    // About 3 MiB of lines of many lengths: several reads into reused buffers.
    const pieces = Array.from(
      { length: 30000 },
      (_, i) => String(i % 10).repeat((i * 37) % 190) + i,
    );
    const text = pieces.join("\r\n") + "\r\n";
    const path = `${dir}/lines`;
    await Deno.writeTextFile(path, text);
    await using afp = await AIOFile.open(path, "rb", { context });
    for (const chunkSize of [4096, 65536]) {
      const lines = await collect(
        new LineReader(afp, { lineSep: "\r\n", chunkSize }),
      );
      const what = `chunkSize ${chunkSize}`;
      assertLines(lines, expectedLines(text, "\r\n"), what);
      assertOwnMemory(lines, what);
    }
  },
);

backendTest(
  "LineReader: the offset follows binary lines, read one by one or iterated",
  async (context, dir) => {
    const path = `${dir}/lines`;
    const text = "one\ntwo\n\nfour\nfive";
    await Deno.writeTextFile(path, text);
    await using afp = await AIOFile.open(path, "rb", { context });
    const reader = new LineReader(afp, { offset: 4 });
    let offset = 4;
    for (const expected of ["two\n", "\n", "four\n", "five"]) {
      const line = await reader.readLine();
      assert.equal(new TextDecoder().decode(line), expected);
      offset += line.length;
      assert.equal(reader.offset, offset);
    }
    assert.equal((await reader.readLine()).length, 0);
    assert.equal(reader.offset, text.length);

    const iterated = new LineReader(afp);
    const iterator = iterated[Symbol.asyncIterator]();
    assert.deepEqual((await iterator.next()).value, encoder.encode("one\n"));
    assert.equal(iterated.offset, 4);
    // readLine after the iterator goes on from the same place.
    assert.deepEqual(await iterated.readLine(), encoder.encode("two\n"));
    assert.equal(iterated.offset, 8);
    assert.deepEqual((await iterator.next()).value, encoder.encode("\n"));
    assert.equal(iterated.offset, 9);
  },
);
