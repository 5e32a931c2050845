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
import { assertSucceeded, runFixture, show } from "./subprocess.ts";

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
backendTest(
  "a pipe closed by its writer in the middle of a line: the partial line is the last one",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const writing = (async () => {
      await using afp = await asyncOpen(fifo, "w", { context });
      await afp.write("complete\npart");
    })();
    await using afp = await asyncOpen(fifo, "r", { context });
    assert.equal(await afp.readLine(), "complete\n");
    await writing;
    assert.equal(await afp.readLine(), "part");
    assert.equal(await afp.readLine(), "");
  },
);

backendTest(
  "a file that cannot seek: seek rejects NotSupported, the wrapper's reads and writes go on",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const writing = (async () => {
      await using out = await asyncOpen(fifo, "w", { context });
      assert.throws(() => out.seek(0), Deno.errors.NotSupported);
      await out.write("abc\ndef\n");
      assert.equal(out.tell(), 8);
    })();
    await using afp = await asyncOpen(fifo, "r", { context });
    assert.throws(() => afp.seek(3), Deno.errors.NotSupported);
    assert.equal(await afp.read(2), "ab");
    await writing;
    assert.equal(await afp.read(), "c\ndef\n");
    assert.equal(afp.tell(), 8);
  },
);

backendTest(
  "standard input and output as pipes, through /dev/stdin and /dev/stdout",
  async (_context, _dir, backend) => {
    const input = "one\ntwo\nthree";
    const result = await runFixture("pipe_lines.ts", ["--allow-all"], {
      env: { AIOFILE_IMPL: backend },
      stdin: input,
    });
    assertSucceeded(result);
    assert.equal(result.stdout, input.toUpperCase(), show(result));
    const report = JSON.parse(result.stderr.trim().split("\n").at(-1)!);
    assert.equal(report.lines, 3);
    assert.deepEqual(report.seekable, [false, false]);
  },
);

backendTest(
  "examples/cat.ts reads /dev/stdin",
  async (_context, _dir, backend) => {
    const cat = new URL("../examples/cat.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", cat, "/dev/stdin"],
      env: { AIOFILE_IMPL: backend, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000),
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("a\nb\n"));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    assert.equal(code, 0, decoder.decode(stderr));
    assert.equal(decoder.decode(stdout), "a\nb\n");
  },
);

backendTest(
  "a stream through the wrapper: readLine, read, then lines, chunks and a byte stream pick up where the last left off",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const text = "header\n" + "é".repeat(5000) + "\n" +
      Array.from({ length: 300 }, (_, i) => `line ${i}\n`).join("");
    const writing = (async () => {
      await using out = await asyncOpen(fifo, "w", { context });
      // In pieces, so that reads come back short.
      for (let at = 0; at < text.length; at += 777) {
        await out.write(text.slice(at, at + 777));
      }
    })();
    await using afp = await asyncOpen(fifo, "r", { context });
    assert.equal(await afp.readLine(), "header\n");
    assert.equal(await afp.read(3), "ééé");
    assert.equal(afp.tell(), 7 + 6);
    const rest = text.slice(10);
    let got = "";
    let lines = 0;
    for await (const line of afp) {
      got += line;
      if (++lines === 2) break;
    }
    for await (const chunk of afp.iterChunked(1001)) {
      got += chunk;
      if (got.length > 2000) break;
    }
    got += await new Response(afp.readable).text();
    await writing;
    assert.equal(got, rest);
    assert.equal(afp.tell(), new TextEncoder().encode(text).length);
  },
);

backendTest(
  "a binary stream through the wrapper: chunks own their memory and the byte stream's BYOB reader reads what is held first",
  async (context, dir) => {
    const fifo = `${dir}/fifo`;
    mkfifo(fifo);
    const data = Uint8Array.from({ length: 100_000 }, (_, i) => i % 253);
    const writing = (async () => {
      await using out = await AIOFile.open(fifo, "wb", { context });
      await out.write(data, 0);
    })();
    await using afp = await asyncOpen(fifo, "rb", { context });
    const first = await afp.readLine(10);
    assert.deepEqual(first, data.subarray(0, 10));
    const chunks: Uint8Array[] = [];
    for await (const chunk of afp.iterChunked(4096)) {
      assert.equal(chunk.byteOffset, 0);
      assert.equal(chunk.buffer.byteLength, chunk.length);
      chunks.push(chunk);
      if (chunks.length === 3) break;
    }
    const reader = afp.readable.getReader({ mode: "byob" });
    chunks.forEach((chunk, i) =>
      assert.deepEqual(chunk, data.subarray(10 + 4096 * i, 10 + 4096 * (i + 1)))
    );
    let at = 10 + 3 * 4096;
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(5000));
      if (done) break;
      assert.deepEqual(value, data.subarray(at, at + value.length));
      at += value.length;
    }
    await writing;
    assert.equal(at, data.length);
  },
);
