/**
 * Files that cannot seek (FIFOs, pipes, standard input and output) on every
 * backend: opened once, never blocking the event loop, read and written in
 * call order at the stream's position.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AIOFile,
  asyncOpen,
  type Context,
  LineReader,
  Reader,
  Writer,
} from "../mod.ts";
import { backendTest } from "./backends.ts";

function mkfifo(path: string): void {
  const { success } = new Deno.Command("mkfifo", { args: [path] }).outputSync();
  assert.ok(success, `mkfifo ${path}`);
}

/** Counts the ticks of a 1 ms interval while `work` runs. */
async function ticking<T>(work: Promise<T>): Promise<[T, number]> {
  let ticks = 0;
  const interval = setInterval(() => ticks++, 1);
  try {
    return [await work, ticks];
  } finally {
    clearInterval(interval);
  }
}

const lines = ["hello\n", "wörld\n", "\n", "the last, with no newline"];

/** Opens `fifo` for writing through `context` and writes `lines` through a `Writer`. */
async function writeLines(fifo: string, context: Context): Promise<void> {
  await using afp = await AIOFile.open(fifo, "w", { context });
  assert.equal(afp.seekable, false);
  const writer = new Writer(afp);
  for (const line of lines) await writer.write(line);
}

backendTest(
  "a FIFO, reader first: opening waits for the writer without blocking the event loop, and every line arrives",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const reading = (async () => {
      await using afp = await asyncOpen(fifo, "r", { context });
      const got: string[] = [];
      for await (const line of afp) got.push(line);
      return { got, seekable: afp.file.seekable, tell: afp.tell() };
    })();
    // The reader waits in its open: the event loop goes on meanwhile.
    const [, ticks] = await ticking(
      new Promise((resolve) => setTimeout(resolve, 30)),
    );
    assert.ok(ticks > 3, `a 1 ms interval fired ${ticks} times`);
    await writeLines(fifo, context);
    const { got, seekable, tell } = await reading;
    assert.deepEqual(got, lines);
    assert.equal(seekable, false);
    assert.equal(tell, new TextEncoder().encode(lines.join("")).length);
  },
);

backendTest(
  "a FIFO, writer first: what it wrote before the reader came is read, nothing lost to a probe",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const writing = writeLines(fifo, context);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await using afp = await AIOFile.open(fifo, "r", { context });
    await writing;
    const got: string[] = [];
    for await (const line of new LineReader(afp)) got.push(line);
    assert.deepEqual(got, lines);
  },
);

backendTest(
  "a FIFO read with positional reads at its position, then in chunks",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
    const writing = (async () => {
      await using afp = await AIOFile.open(fifo, "wb", { context });
      for (let at = 0; at < data.length; at += 70_000) {
        await afp.write(data.subarray(at, at + 70_000), at);
      }
    })();
    await using afp = await AIOFile.open(fifo, "rb", { context });
    // Positional reads at the stream's position; any other offset is refused.
    const head = await afp.read(1000, 0);
    assert.deepEqual(head, data.subarray(0, 1000));
    await assert.rejects(
      afp.read(10, 0),
      (e: Error) =>
        e instanceof Deno.errors.NotSupported && /seek/.test(e.message),
    );
    const into = new Uint8Array(500);
    assert.equal(await afp.readInto(into, 1000), 500);
    assert.deepEqual(into, data.subarray(1000, 1500));
    // A Reader from the position on.
    const chunks: Uint8Array[] = [];
    let total = 1500;
    for await (
      const chunk of new Reader(afp, { offset: 1500, chunkSize: 65536 })
    ) {
      assert.deepEqual(chunk, data.subarray(total, total + chunk.length));
      total += chunk.length;
      chunks.push(chunk);
      if (total >= 200_000) break;
    }
    const rest = await afp.read(-1, total);
    assert.deepEqual(rest, data.subarray(total));
    await writing;
    // At the end: empty.
    assert.equal((await afp.read(10, data.length)).length, 0);
  },
);
