/**
 * `asyncOpen` and its binary and text wrappers on every backend.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AIOFile,
  asyncOpen,
  BinaryFileWrapper,
  createContext,
  TextFileWrapper,
} from "../mod.ts";
import { backendTest } from "./backends.ts";

const encoder = new TextEncoder();

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

backendTest(
  "asyncOpen: write, seek, read and readLine as Python's open() does",
  async (context, dir) => {
    const path = `${dir}/hello.txt`;
    await using afp = await asyncOpen(path, "w+", { context });
    assert.ok(afp instanceof TextFileWrapper);
    assert.equal(await afp.write("Hello "), 6);
    await afp.write("world");
    assert.equal(afp.tell(), 11);
    afp.seek(0);
    assert.equal(await afp.read(), "Hello world");
    await afp.write("\nHello from\nasync world");
    afp.seek(12);
    assert.equal(await afp.readLine(), "Hello from\n");
    assert.equal(await afp.readLine(), "async world");
    assert.equal(await afp.readLine(), "");
    assert.equal(afp.seek(-5, 1), 29);
    assert.equal(await afp.read(), "world");
    assert.equal(afp.file.name, path);
    assert.equal(afp.name, path);
    assert.equal(afp.mode.text, "w+");
  },
);

backendTest(
  "asyncOpen: text read(n) counts code points and never returns more",
  async (context, dir) => {
    const path = `${dir}/text`;
    const text = "a😀é€\u{10348}z";
    await Deno.writeTextFile(path, text);
    await using afp = await asyncOpen(path, "r", { context });
    assert.equal(await afp.read(2), "a😀");
    assert.equal(afp.tell(), 5);
    assert.equal(await afp.read(3), "é€\u{10348}");
    assert.equal(afp.tell(), 14);
    assert.equal(await afp.read(100), "z");
    assert.equal(await afp.read(1), "");
    afp.seek(0);
    assert.equal(await afp.read(0), "");
    for (let n = 1; n <= 6; n++) {
      afp.seek(0);
      const parts: string[] = [];
      for (let part; (part = await afp.read(n)) !== "";) {
        assert.ok([...part].length <= n);
        parts.push(part);
      }
      assert.equal(parts.join(""), text);
    }
  },
);

backendTest(
  "asyncOpen: readLine(size) cuts the line and loses nothing",
  async (context, dir) => {
    const path = `${dir}/lines`;
    await Deno.writeTextFile(path, "abcdef\né😀xyz\nlast");
    await using afp = await asyncOpen(path, "r", { context });
    assert.equal(await afp.readLine(3), "abc");
    assert.equal(afp.tell(), 3);
    assert.equal(await afp.readLine(), "def\n");
    assert.equal(await afp.readLine(2), "é😀");
    assert.equal(afp.tell(), 13);
    assert.equal(await afp.readLine(10), "xyz\n");
    assert.equal(await afp.readLine(4), "last");
    assert.equal(await afp.readLine(4), "");
    afp.seek(0);
    assert.equal(await afp.readLine(-1, "d"), "abcd");
    assert.equal(await afp.readLine(-1, "😀"), "ef\né😀");
    await assert.rejects(afp.readLine(-2), RangeError);
    await assert.rejects(afp.readLine(1, ""), RangeError);
    assert.equal(afp.tell(), 13);
  },
);

backendTest(
  "asyncOpen: binary read, readLine and a long line",
  async (context, dir) => {
    const path = `${dir}/bin`;
    const long = new Uint8Array(100000).fill(65);
    const data = new Uint8Array([...long, 10, 1, 2, 13, 10, 3]);
    await Deno.writeFile(path, data);
    await using afp = await asyncOpen(path, "rb", { context });
    assert.ok(afp instanceof BinaryFileWrapper);
    assert.deepEqual(await afp.readLine(), data.subarray(0, 100001));
    assert.deepEqual(await afp.readLine(2), new Uint8Array([1, 2]));
    assert.deepEqual(
      await afp.readLine(-1, new Uint8Array([13, 10])),
      new Uint8Array([13, 10]),
    );
    assert.deepEqual(await afp.read(), new Uint8Array([3]));
    afp.seek(2);
    assert.deepEqual(await afp.read(3), new Uint8Array([65, 65, 65]));
    assert.equal(afp.tell(), 5);
  },
);

backendTest(
  "asyncOpen: lines and chunks from the position, which follows them",
  async (context, dir) => {
    const path = `${dir}/lines`;
    await Deno.writeTextFile(path, "zero\none\ntwo\nthree");
    await using afp = await asyncOpen(path, "r", { context });
    await afp.readLine();
    assert.deepEqual(await collect(afp), ["one\n", "two\n", "three"]);
    assert.equal(afp.tell(), 18);
    afp.seek(5);
    for await (const line of afp) {
      assert.equal(line, "one\n");
      break;
    }
    assert.equal(afp.tell(), 9);
    assert.equal(await afp.read(), "two\nthree");
    afp.seek(9);
    assert.deepEqual(await collect(afp.iterChunked(4)), ["two\n", "thre", "e"]);
    assert.equal(afp.tell(), 18);
    afp.seek(0);
    for await (const chunk of afp.iterChunked(3)) {
      assert.equal(chunk, "zer");
      break;
    }
    assert.equal(await afp.read(2), "o\n");
    assert.throws(() => afp.iterChunked(0), RangeError);
  },
);

backendTest(
  "asyncOpen: seek and tell take bytes and check their arguments",
  async (context, dir) => {
    await using afp = await asyncOpen(`${dir}/f`, "w+", { context });
    await afp.write("héllo");
    assert.equal(afp.tell(), 6);
    assert.equal(afp.seek(3), 3);
    assert.equal(await afp.read(), "llo");
    assert.throws(() => afp.seek(-1), RangeError);
    assert.throws(() => afp.seek(-7, 1), /before the start/);
    // @ts-expect-error: whence 3 does not exist
    assert.throws(() => afp.seek(0, 3), /whence/);
    assert.throws(() => afp.seek(1.5), TypeError);
    // @ts-expect-error: the wrong type
    assert.throws(() => afp.seek("1"), TypeError);
    assert.equal(afp.tell(), 6);
    await assert.rejects(afp.read(-2), RangeError);
    await assert.rejects(afp.read(1.5), RangeError);
  },
);

backendTest(
  "asyncOpen: append modes start at the end; a+ creates a missing file",
  async (context, dir) => {
    const path = `${dir}/log`;
    {
      await using afp = await asyncOpen(path, "a+", { context });
      assert.equal(afp.tell(), 0);
      await afp.write("one\n");
    }
    await using afp = await asyncOpen(path, "a+", { context });
    assert.equal(afp.tell(), 4);
    const pieces = Array.from({ length: 50 }, (_, i) => `${i}\n`);
    await Promise.all(pieces.map((piece) => afp.write(piece)));
    afp.seek(0);
    assert.equal(await afp.read(), "one\n" + pieces.join(""));
  },
);

backendTest(
  "asyncOpen: overlapping writes land one after another; reads see them",
  async (context, dir) => {
    await using afp = await asyncOpen(`${dir}/f`, "w+b", { context });
    const pieces = Array.from(
      { length: 200 },
      (_, i) => new Uint8Array(i % 13 + 1).fill(i),
    );
    const writes = pieces.map((piece) => afp.write(piece));
    afp.seek(0);
    // Issued after the writes: waits for them.
    const all = await afp.read();
    assert.deepEqual(await Promise.all(writes), pieces.map((p) => p.length));
    const expected = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const piece of pieces) {
      expected.set(piece, at);
      at += piece.length;
    }
    assert.deepEqual(all, expected);
  },
);

backendTest(
  "asyncOpen: readable and writable streams, which leave the file open",
  async (context, dir) => {
    const text = "line é😀\n".repeat(20000);
    const path = `${dir}/text`;
    {
      await using afp = await asyncOpen(path, "w+", { context });
      await afp.write("head:");
      const writer = afp.writable.getWriter();
      await writer.write(text);
      await writer.write(encoder.encode("bytes"));
      await writer.close();
      assert.equal(afp.closed, false);
      afp.seek(5);
      const decoded = (await Array.fromAsync(
        afp.readable.pipeThrough(new TextDecoderStream()),
      )).join("");
      assert.equal(decoded, text + "bytes");
      assert.equal(afp.tell(), 5 + encoder.encode(text).length + 5);
    }
    // Gzip through CompressionStream and back.
    await using source = await asyncOpen(path, "rb", { context });
    await using gzip = await asyncOpen(`${dir}/text.gz`, "w+b", { context });
    await source.readable.pipeThrough(new CompressionStream("gzip")).pipeTo(
      gzip.writable,
    );
    assert.equal(gzip.closed, false);
    gzip.seek(0);
    const back = await new Response(
      gzip.readable.pipeThrough(new DecompressionStream("gzip")),
    ).text();
    assert.equal(back, "head:" + text + "bytes");
  },
);

backendTest(
  "asyncOpen: a failed write errors the writable stream",
  async (context) => {
    // Deno requires --allow-all to open /dev/full (the test task's).
    await using afp = await asyncOpen("/dev/full", "wb", { context });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(1000));
        controller.close();
      },
    });
    await assert.rejects(stream.pipeTo(afp.writable), /ENOSPC|No space/);
    await assert.rejects(afp.write(new Uint8Array(1)), /ENOSPC|No space/);
  },
);

backendTest(
  "asyncOpen: flush, close twice, closed, and calls after close",
  async (context, dir) => {
    const path = `${dir}/f`;
    const afp = await asyncOpen(path, "w", { context });
    assert.equal(afp.closed, false);
    await afp.write("data");
    await afp.flush();
    await afp.flush(true);
    await Promise.all([afp.close(), afp.close()]);
    assert.equal(afp.closed, true);
    await assert.rejects(afp.write("x"), Deno.errors.BadResource);
    await assert.rejects(afp.read(), Deno.errors.BadResource);
    assert.equal(await Deno.readTextFile(path), "data");
  },
);

backendTest(
  "asyncOpen: a URL, and the mistakes it refuses",
  async (context, dir) => {
    const url = new URL(`file://${dir}/u.txt`);
    {
      await using afp = await asyncOpen(url, "x", { context });
      await afp.write("by url");
    }
    await assert.rejects(
      asyncOpen(url, "x", { context }),
      Deno.errors.AlreadyExists,
    );
    await assert.rejects(
      asyncOpen(`${dir}/missing`, "r", { context }),
      Deno.errors.NotFound,
    );
    await assert.rejects(asyncOpen(url, "rw"), TypeError);
    // Refused before anything is opened or created.
    await assert.rejects(
      asyncOpen(`${dir}/never`, "w", { context, encoding: "shift_jis" }),
      TypeError,
    );
    await assert.rejects(Deno.stat(`${dir}/never`), Deno.errors.NotFound);
    const text = await asyncOpen(url, "r", { context, encoding: "latin1" });
    assert.equal(await text.read(), "by url");
    await text.close();
    const binary = await AIOFile.open(url, "rb", { context });
    assert.throws(
      () => new TextFileWrapper(binary as AIOFile<string>),
      TypeError,
    );
    assert.throws(
      () => new BinaryFileWrapper(binary as AIOFile<string>, -1),
      RangeError,
    );
    await binary.close();
  },
);

Deno.test("asyncOpen: a Deno.FsFile is served by deno, starts at 0 and stays open", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "Hello");
    using fsFile = await Deno.open(path, { read: true, write: true });
    await fsFile.seek(3, Deno.SeekMode.Start);
    {
      await using afp = await asyncOpen(fsFile, "r+");
      assert.equal(afp.file.backend, "deno");
      assert.equal(afp.tell(), 0);
      assert.equal(await afp.read(), "Hello");
      await afp.write(" from\nasync world");
      afp.seek(0);
      assert.equal(await afp.readLine(), "Hello from\n");
    }
    // Still open; the wrapper moved its cursor.
    assert.ok((await fsFile.seek(0, Deno.SeekMode.Current)) > 0);
    await fsFile.seek(0, Deno.SeekMode.End);
    await fsFile.write(encoder.encode("!"));
    assert.equal(await Deno.readTextFile(path), "Hello from\nasync world!");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("asyncOpen: special files through an explicit thread context", async () => {
  await using context = createContext({ backend: "thread" });
  await using afp = await asyncOpen("/proc/self/status", "r", { context });
  const lines = await collect(afp);
  assert.ok(lines[0].startsWith("Name:"));
  assert.ok(lines.every((line) => line.endsWith("\n")));
});

backendTest(
  "asyncOpen: operations and seeks take effect in call order",
  async (context, dir) => {
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "abcdefghij");
    await using afp = await asyncOpen(path, "r+", { context });
    const first = afp.read(3);
    const second = afp.read(3);
    assert.equal(afp.seek(0), 0);
    assert.equal(afp.tell(), 0);
    const third = afp.read(2);
    // Behind a read in flight, a write lands where that read ends.
    const write = afp.write("XY");
    const fourth = afp.readLine();
    assert.deepEqual(await Promise.all([first, second, third, write, fourth]), [
      "abc",
      "def",
      "ab",
      2,
      "efghij",
    ]);
    assert.equal(afp.tell(), 10);
    afp.seek(0);
    assert.equal(await afp.read(), "abXYefghij");
    // Writes with nothing in the way take their place at once.
    afp.seek(1);
    const writes = [afp.write("1"), afp.write("2")];
    assert.equal(afp.tell(), 3);
    await Promise.all(writes);
    afp.seek(-3, 1);
    assert.equal(await afp.read(3), "a12");
  },
);

backendTest(
  "asyncOpen: seek from the end resolves to the new position, in turn with the other operations",
  async (context, dir) => {
    await using afp = await asyncOpen(`${dir}/f`, "w+", { context });
    // Not awaited: the seek waits for the write before it, the read for the seek.
    const writing = afp.write("Hello world");
    const seeking = afp.seek(-5, 2);
    const reading = afp.read();
    assert.equal(await writing, 11);
    assert.equal(await seeking, 6);
    assert.equal(await reading, "world");
    assert.equal(await afp.seek(0, 2), 11);
    assert.equal(await afp.seek(3, 2), 14); // past the end, as lseek allows
    await assert.rejects(afp.seek(-12, 2), /before the start/);
    assert.equal(afp.tell(), 14);
    assert.throws(() => afp.seek(1.5, 2), TypeError);
  },
);
