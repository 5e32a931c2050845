/**
 * `Reader`, `LineReader` and `Writer` on every backend.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, asyncOpen, LineReader, Reader, Writer } from "../mod.ts";
import { OpenFile } from "../src/open_file.ts";
import { backendTest, joinBytes } from "./backends.ts";

const encoder = new TextEncoder();

/** Text whose characters take 1 to 4 bytes in UTF-8 and 2 or 4 in UTF-16. */
const MIXED = "a😀b€cé\u{10348}d".repeat(5);

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** `text` cut after each `separator`, as a line reader should. */
function splitAfter(text: string, separator: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let at; (at = text.indexOf(separator, start)) !== -1;) {
    lines.push(text.slice(start, at + separator.length));
    start = at + separator.length;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/**
 * Runs `fn`, recording the large reads (512 KiB or more: those of a pass under
 * way) that the library's readers make into buffers of their own meanwhile.
 */
async function spyOnOwnReads(fn: () => Promise<void>) {
  const readInto = OpenFile.prototype.readInto;
  const spy = {
    count: 0,
    /** Reads into a buffer read into before. */
    reused: 0,
    buffers: new Set<ArrayBufferLike>(),
  };
  OpenFile.prototype.readInto = function (into, offset, target, whole) {
    if (target === "library" && into.length >= 2 ** 19) {
      if (spy.buffers.has(into.buffer)) spy.reused++;
      spy.buffers.add(into.buffer);
      spy.count++;
    }
    return readInto.call(this, into, offset, target, whole);
  };
  try {
    await fn();
  } finally {
    OpenFile.prototype.readInto = readInto;
  }
  return spy;
}

function utf16le(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < text.length; i++) {
    view.setUint16(2 * i, text.charCodeAt(i), true);
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// Reader

backendTest(
  "Reader: binary chunks of chunkSize, the last shorter, then empty",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = Uint8Array.from({ length: 10000 }, (_, i) => i * 7);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    const chunks = await collect(new Reader(afp, { chunkSize: 4096 }));
    assert.deepEqual(chunks.map((c) => c.length), [4096, 4096, 1808]);
    assert.deepEqual(
      joinBytes(chunks),
      data,
    );
    const reader = new Reader(afp, { offset: 9000, chunkSize: 600 });
    assert.deepEqual(await reader.read(), data.subarray(9000, 9600));
    assert.equal(reader.offset, 9600);
    assert.deepEqual(await reader.read(), data.subarray(9600));
    assert.equal((await reader.read()).length, 0);
    assert.equal((await reader.read()).length, 0);
  },
);

backendTest(
  "Reader: text never splits a character, at any chunk size",
  async (context, dir) => {
    const path = `${dir}/text`;
    const bytes = encoder.encode(MIXED);
    await Deno.writeFile(path, bytes);
    await using afp = await AIOFile.open(path, "r", { context });
    for (let chunkSize = 1; chunkSize <= 9; chunkSize++) {
      const reader = new Reader(afp, { chunkSize });
      const chunks = await collect(reader);
      assert.equal(chunks.join(""), MIXED, `chunkSize ${chunkSize}`);
      for (const [i, chunk] of chunks.entries()) {
        const size = encoder.encode(chunk).length;
        // Each chunk is chunkSize bytes, extended to finish its last character.
        if (i < chunks.length - 1) {
          assert.ok(size >= chunkSize && size < chunkSize + 4, `chunk ${i}`);
        }
        assert.ok(size > 0);
      }
      assert.equal(reader.offset, bytes.length);
    }
  },
);

backendTest(
  "Reader: UTF-16LE text is cut between characters too",
  async (context, dir) => {
    const path = `${dir}/utf16`;
    await Deno.writeFile(path, utf16le(MIXED));
    await using afp = await AIOFile.open(path, "r", {
      context,
      encoding: "utf-16le",
    });
    for (const chunkSize of [1, 2, 3, 5]) {
      assert.equal(
        (await collect(new Reader(afp, { chunkSize }))).join(""),
        MIXED,
      );
    }
  },
);

backendTest(
  "Reader: calls that overlap get consecutive chunks",
  async (context, dir) => {
    const path = `${dir}/text`;
    await Deno.writeTextFile(path, MIXED);
    await using afp = await AIOFile.open(path, "r", { context });
    const reader = new Reader(afp, { chunkSize: 3 });
    const chunks = await Promise.all(
      Array.from({ length: 60 }, () => reader.read()),
    );
    assert.equal(chunks.join(""), MIXED);
    assert.equal(chunks.at(-1), "");
  },
);

backendTest(
  "Reader: what is appended after the end is read next",
  async (context, dir) => {
    const path = `${dir}/grow`;
    await using afp = await AIOFile.open(path, "w+", { context });
    await afp.write("x".repeat(10));
    const reader = new Reader(afp, { chunkSize: 4 });
    assert.deepEqual(await collect(reader), ["xxxx", "xxxx", "xx"]);
    await afp.write("yyyyy", 10);
    assert.equal(await reader.read(), "yyyy");
    assert.equal(await reader.read(), "y");
    assert.equal(await reader.read(), "");
  },
);

backendTest(
  "Reader: reading ahead off, or far ahead, reads the same",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = crypto.getRandomValues(new Uint8Array(50000));
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    for (const readAheadBytes of [0, 1, 1000, 64000]) {
      const chunks = await collect(
        new Reader(afp, { chunkSize: 1000, readAheadBytes }),
      );
      assert.deepEqual(
        joinBytes(chunks),
        data,
      );
    }
  },
);

backendTest(
  "Reader: invalid text rejects with a TypeError",
  async (context, dir) => {
    const path = `${dir}/bad`;
    await Deno.writeFile(path, new Uint8Array([0x61, 0xff, 0x62]));
    await using afp = await AIOFile.open(path, "r", { context });
    await assert.rejects(new Reader(afp).read(), TypeError);
    // A character cut by the end of the file.
    await Deno.writeFile(path, new Uint8Array([0x61, 0xf0, 0x9f]));
    await assert.rejects(
      collect(new Reader(afp, { chunkSize: 1 })),
      /not valid utf-8/,
    );
  },
);

backendTest(
  "Reader: a closed file rejects with BadResource",
  async (context, dir) => {
    const afp = await AIOFile.open(`${dir}/f`, "w+", { context });
    const reader = new Reader(afp);
    await afp.close();
    await assert.rejects(reader.read(), Deno.errors.BadResource);
  },
);

Deno.test("Reader, LineReader, Writer: bad options throw at construction", () => {
  const afp = new AIOFile("/nonexistent", "r");
  assert.throws(() => new Reader(afp, { chunkSize: 0 }), RangeError);
  assert.throws(() => new Reader(afp, { chunkSize: 1.5 }), RangeError);
  assert.throws(() => new Reader(afp, { offset: -1 }), /offset/);
  // @ts-expect-error: the wrong type
  assert.throws(() => new Reader(afp, { chunkSize: "4" }), TypeError);
  assert.throws(() => new Reader(afp, { readAheadBytes: -1 }), RangeError);
  assert.throws(() => new LineReader(afp, { lineSep: "" }), RangeError);
  // @ts-expect-error: the wrong type
  assert.throws(() => new LineReader(afp, { lineSep: 10 }), TypeError);
  assert.throws(
    () => new LineReader(afp, { lineSep: new Uint8Array([10]) }),
    /lineSep must be a string/,
  );
  assert.throws(() => new LineReader(afp, { chunkSize: 0 }), RangeError);
  assert.throws(() => new Writer(afp, { offset: NaN }), RangeError);
  for (const bad of [{ aborted: true }, "signal", null]) {
    const signal = bad as unknown as AbortSignal;
    assert.throws(
      () => new Reader(afp, { signal }),
      /options\.signal must be an AbortSignal/,
    );
    assert.throws(() => new LineReader(afp, { signal }), TypeError);
    assert.throws(() => new Writer(afp, { signal }), TypeError);
  }
  const gbk = new AIOFile("/nonexistent", "r", { encoding: "gbk" });
  assert.throws(() => new Reader(gbk), /TextDecoderStream/);
  assert.throws(() => new LineReader(gbk), /TextDecoderStream/);
  const latin1 = new AIOFile("/nonexistent", "r", { encoding: "latin1" });
  assert.throws(
    () => new LineReader(latin1, { lineSep: "😀" }),
    /cannot be written/,
  );
});

// ---------------------------------------------------------------------------
// LineReader

backendTest(
  "LineReader: lines with their separator, the last one without",
  async (context, dir) => {
    const path = `${dir}/lines`;
    await Deno.writeTextFile(path, "Hello World\n\nFrom async world");
    await using afp = await AIOFile.open(path, "r", { context });
    assert.deepEqual(await collect(new LineReader(afp)), [
      "Hello World\n",
      "\n",
      "From async world",
    ]);
    const lines = new LineReader(afp, { offset: 6 });
    assert.equal(await lines.readLine(), "World\n");
    assert.equal(lines.offset, 12);
    await lines.readLine();
    assert.equal(await lines.readLine(), "From async world");
    assert.equal(await lines.readLine(), "");
    assert.equal(await lines.readLine(), "");
  },
);

backendTest(
  "LineReader: binary lines are bytes, yours to keep",
  async (context, dir) => {
    const path = `${dir}/lines`;
    await Deno.writeFile(path, new Uint8Array([1, 10, 2, 3, 10, 4]));
    await using afp = await AIOFile.open(path, "rb", { context });
    const lines = await collect(new LineReader(afp, { chunkSize: 2 }));
    assert.deepEqual(lines, [
      new Uint8Array([1, 10]),
      new Uint8Array([2, 3, 10]),
      new Uint8Array([4]),
    ]);
    assert.deepEqual(
      await collect(new LineReader(afp, { lineSep: new Uint8Array([3, 10]) })),
      [new Uint8Array([1, 10, 2, 3, 10]), new Uint8Array([4])],
    );
  },
);

backendTest(
  "LineReader: any separator, across every chunk boundary",
  async (context, dir) => {
    const path = `${dir}/lines`;
    for (const lineSep of ["\n", "\r\n", ";", "||", "→", "😀", "ab"]) {
      const pieces = ["first", "", "é😀", "a", "last"];
      const text = pieces.join(lineSep);
      await Deno.writeTextFile(path, text);
      const expected = splitAfter(text, lineSep);
      await using afp = await AIOFile.open(path, "r", { context });
      for (let chunkSize = 1; chunkSize <= 7; chunkSize++) {
        const lines = await collect(
          new LineReader(afp, { lineSep, chunkSize }),
        );
        assert.deepEqual(
          lines,
          expected,
          `${JSON.stringify(lineSep)} chunkSize ${chunkSize}`,
        );
      }
    }
  },
);

backendTest(
  "LineReader: 4-byte characters split at every chunk boundary",
  async (context, dir) => {
    const path = `${dir}/lines`;
    const text = "😀😀\n\u{10348}😀x\n😀".repeat(3);
    await Deno.writeTextFile(path, text);
    await using afp = await AIOFile.open(path, "r", { context });
    const expected = text.split(/(?<=\n)/);
    for (let chunkSize = 1; chunkSize <= 9; chunkSize++) {
      assert.deepEqual(
        await collect(new LineReader(afp, { chunkSize })),
        expected,
      );
    }
  },
);

backendTest(
  "LineReader: long text with any separator, read in many chunks per request",
  async (context, dir) => {
    const path = `${dir}/lines`;
    for (const lineSep of ["\n", "\r\n", "||", "😀"]) {
      const pieces = Array.from(
        { length: 3000 },
        (_, i) => "é😀x|".repeat(i % 7) + i,
      );
      const text = pieces.join(lineSep);
      await Deno.writeTextFile(path, text);
      await using afp = await AIOFile.open(path, "r", { context });
      for (const chunkSize of [3, 64, 4096]) {
        assert.deepEqual(
          await collect(new LineReader(afp, { lineSep, chunkSize })),
          splitAfter(text, lineSep),
          `${JSON.stringify(lineSep)} chunkSize ${chunkSize}`,
        );
      }
    }
  },
);

backendTest(
  "LineReader: the chunks of one read are joined without a copy",
  async (context, dir) => {
    const path = `${dir}/lines`;
    // 2 MiB of 100-byte lines: most lines straddle two 4 KiB chunks.
    await Deno.writeTextFile(path, ("x".repeat(99) + "\n").repeat(20972));
    await using afp = await AIOFile.open(path, "r", { context });
    const set = Uint8Array.prototype.set;
    let copies = 0;
    Uint8Array.prototype.set = function (...args) {
      copies++;
      return set.apply(this, args);
    };
    let count = 0;
    try {
      for await (const _ of new LineReader(afp, { chunkSize: 4096 })) count++;
    } finally {
      Uint8Array.prototype.set = set;
    }
    assert.equal(count, 20972);
    // One copy at most where one read ends and the next begins, not one per
    // chunk (512 chunks).
    assert.ok(copies < 64, `${copies} copies`);
  },
);

backendTest(
  "Reader: text read into reused buffers decodes whole",
  async (context, dir) => {
    // About 12 MiB of 1- to 4-byte characters, which straddle chunks and the
    // reader's buffers as they are read into again.
    const text = MIXED.repeat(
      Math.ceil(12 * 2 ** 20 / encoder.encode(MIXED).length),
    );
    const path = `${dir}/text`;
    await Deno.writeTextFile(path, text);
    await using afp = await AIOFile.open(path, "r", { context });
    const reads = await spyOnOwnReads(async () => {
      for (const chunkSize of [4093, 65536]) {
        const chunks = await collect(new Reader(afp, { chunkSize }));
        assert.ok(chunks.join("") === text, `chunk size ${chunkSize}`);
      }
    });
    // Two passes, each reading into a few buffers over and over.
    assert.ok(reads.count > 20, `${reads.count} reads`);
    assert.ok(
      reads.reused > reads.count / 3,
      `${reads.reused} of ${reads.count} reads into a buffer used before`,
    );
  },
);

backendTest(
  "LineReader: lines stay whole across many reads into reused buffers",
  async (context, dir) => {
    // About 30 MiB, in lines of every length up to 3 MiB (longer than one
    // read), which straddle the reader's buffers as they are read into again.
    const lines: string[] = [];
    for (let i = 0, length = 1; lines.length < 400; i++) {
      length = i % 50 === 49 ? 3 * 2 ** 20 - i : (length * 7 + i) % 30011;
      lines.push(String(i % 10).repeat(length) + "é\n");
    }
    const text = lines.join("");
    const path = `${dir}/lines`;
    await Deno.writeTextFile(path, text);
    await using afp = await AIOFile.open(path, "r", { context });
    const reads = await spyOnOwnReads(async () => {
      for (const chunkSize of [4096, 65536]) {
        const got = await collect(new LineReader(afp, { chunkSize }));
        assert.equal(got.length, lines.length);
        assert.ok(got.every((line, i) => line === lines[i]), `${chunkSize}`);
      }
    });
    // Two passes, each reading into a few buffers over and over.
    assert.ok(reads.count > 50, `${reads.count} reads`);
    assert.ok(
      reads.buffers.size < reads.count / 4,
      `${reads.buffers.size} buffers for ${reads.count} reads`,
    );
    // Binary lines are copies: kept to the end, they still hold their bytes.
    await using binary = await AIOFile.open(path, "rb", { context });
    const kept = await collect(new LineReader(binary));
    assert.equal(new TextDecoder().decode(joinBytes(kept)), text);
  },
);

backendTest(
  "LineReader: a character cut at the end of the file is read whole once the rest is written",
  async (context, dir) => {
    const path = `${dir}/cut`;
    const euro = encoder.encode("€");
    await Deno.writeFile(
      path,
      Uint8Array.of(...encoder.encode("abc"), ...euro.subarray(0, 2)),
    );
    await using afp = await AIOFile.open(path, "r", { context });
    const lines = new LineReader(afp);
    await assert.rejects(lines.readLine(), TypeError);
    await Deno.writeFile(path, Uint8Array.of(euro[2], 10), { append: true });
    assert.equal(await lines.readLine(), "abc€\n");
  },
);

backendTest(
  "LineReader: a long line costs one scan, not one per chunk",
  async (context, dir) => {
    const path = `${dir}/long`;
    const size = 4 * 2 ** 20;
    await Deno.writeTextFile(path, "x".repeat(size - 1) + "\n");
    const { indexOf, lastIndexOf } = Uint8Array.prototype;
    let scanned = 0;
    // The most bytes each search may look at.
    Uint8Array.prototype.indexOf = function (
      this: Uint8Array,
      value: number,
      from = 0,
    ) {
      scanned += this.length - from;
      return indexOf.call(this, value, from);
    };
    Uint8Array.prototype.lastIndexOf = function (
      this: Uint8Array,
      value: number,
      from = this.length - 1,
    ) {
      scanned += from + 1;
      return lastIndexOf.call(this, value, from);
    };
    try {
      for (const mode of ["r", "rb"] as const) {
        scanned = 0;
        await using afp = await AIOFile.open(path, mode, { context });
        const lines = await collect(new LineReader(afp, { chunkSize: 4096 }));
        assert.equal(lines.length, 1);
        // Rescanning the line for each of its 1024 chunks would be about
        // 2 GiB.
        assert.ok(scanned < 4 * size, `${mode}: ${scanned} bytes scanned`);
      }
    } finally {
      Uint8Array.prototype.indexOf = indexOf;
      Uint8Array.prototype.lastIndexOf = lastIndexOf;
    }
  },
);

backendTest("LineReader: a 100 000-character line", async (context, dir) => {
  const path = `${dir}/long`;
  const long = "é".repeat(50000) + "x".repeat(50000) + "\n";
  await Deno.writeTextFile(path, "short\n" + long + "end");
  await using afp = await AIOFile.open(path, "r", { context });
  for (const chunkSize of [1000, 65536]) {
    assert.deepEqual(await collect(new LineReader(afp, { chunkSize })), [
      "short\n",
      long,
      "end",
    ]);
  }
});

backendTest(
  "LineReader: UTF-16 separators match only between characters",
  async (context, dir) => {
    const path = `${dir}/utf16`;
    // "\u0a00\u0000" is 00 0a 00 00 in UTF-16LE: "\n" (0a 00) at an odd offset.
    const text = "a\u0a00\u0000b\nsecond😀\n";
    await Deno.writeFile(path, utf16le(text));
    await using afp = await AIOFile.open(path, "r", {
      context,
      encoding: "utf-16le",
    });
    for (const chunkSize of [1, 3, 64]) {
      assert.deepEqual(await collect(new LineReader(afp, { chunkSize })), [
        "a\u0a00\u0000b\n",
        "second😀\n",
      ]);
    }
  },
);

backendTest(
  "LineReader: calls that overlap get consecutive lines; appended lines are read",
  async (context, dir) => {
    const path = `${dir}/lines`;
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}\n`);
    await Deno.writeTextFile(path, lines.join(""));
    await using afp = await AIOFile.open(path, "r+", { context });
    const reader = new LineReader(afp, { chunkSize: 16 });
    assert.deepEqual(
      await Promise.all(lines.map(() => reader.readLine())),
      lines,
    );
    assert.equal(await reader.readLine(), "");
    await afp.write("more\n", reader.offset);
    assert.equal(await reader.readLine(), "more\n");
  },
);

backendTest(
  "LineReader: invalid text rejects with a TypeError",
  async (context, dir) => {
    const path = `${dir}/bad`;
    await Deno.writeFile(path, new Uint8Array([0x61, 0x0a, 0xff, 0x0a]));
    await using afp = await AIOFile.open(path, "r", { context });
    const lines = new LineReader(afp);
    assert.equal(await lines.readLine(), "a\n");
    await assert.rejects(lines.readLine(), /Bytes 2 to 4 .* not valid utf-8/);
  },
);

// ---------------------------------------------------------------------------
// Writer

backendTest(
  "Writer: writes follow each other from the offset",
  async (context, dir) => {
    const path = `${dir}/out`;
    await using afp = await AIOFile.open(path, "w+", { context });
    const writer = new Writer(afp);
    assert.equal(await writer.write("Hello"), 5);
    await writer.write(" ");
    await writer.write("wörld");
    assert.equal(writer.offset, 12);
    await writer.flush(); // write-behind: let the writes land
    const at = new Writer(afp, { offset: 6 });
    await at.write("W");
    await at.flush();
    assert.equal(await afp.read(), "Hello Wörld");
  },
);

backendTest(
  "Writer: overlapping calls land in call order",
  async (context, dir) => {
    for (const mode of ["w+", "a+"] as const) {
      const path = `${dir}/out-${mode}`;
      await using afp = await AIOFile.open(path, mode, { context });
      const writer = new Writer(afp);
      const pieces = Array.from(
        { length: 300 },
        (_, i) => `${i}:${"x".repeat(i % 17)};`,
      );
      const written = await Promise.all(
        pieces.map((piece) => writer.write(piece)),
      );
      assert.deepEqual(
        written,
        pieces.map((piece) => piece.length),
      );
      await writer.flush();
      assert.equal(await afp.read(), pieces.join(""), mode);
    }
  },
);

backendTest(
  "Writer: bytes are taken when write() is called",
  async (context, dir) => {
    await using afp = await AIOFile.open(`${dir}/out`, "w+b", { context });
    const writer = new Writer(afp);
    const bytes = new Uint8Array([1, 2, 3]);
    const done = writer.write(bytes);
    bytes.fill(9);
    await done;
    await writer.flush(); // write-behind: let the writes land
    assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3]));
  },
);

backendTest(
  "Writer: a bad argument rejects and moves nothing",
  async (context, dir) => {
    await using afp = await AIOFile.open(`${dir}/out`, "w+", { context });
    const writer = new Writer(afp);
    // @ts-expect-error: the wrong type
    await assert.rejects(writer.write(42), /data must be a string/);
    assert.equal(writer.offset, 0);
    await writer.write("ok");
    await writer.flush(); // write-behind: let the writes land
    assert.equal(await afp.read(), "ok");
  },
);

backendTest(
  "Writer: a failed write is reported by the next call and by flush",
  async (context) => {
    // Deno requires --allow-all to open /dev/full (the test task's).
    await using afp = await AIOFile.open("/dev/full", "wb", { context });
    const writer = new Writer(afp, { writeBehind: 8 });
    assert.equal(await writer.write(new Uint8Array(10)), 10); // under way
    await assert.rejects(
      writer.flush(),
      (e: { code?: string }) => e.code === "ENOSPC",
    );
    // The writer stops: every later call reports the same failure.
    await assert.rejects(writer.write(new Uint8Array(1)), /ENOSPC|No space/);
    await assert.rejects(writer.flush(), /ENOSPC|No space/);
  },
);

backendTest(
  "Writer: a failure the writer has not reported rejects the file's fsync",
  async (context) => {
    const afp = await AIOFile.open("/dev/full", "wb", { context });
    const writer = new Writer(afp, { writeBehind: 8 });
    await writer.write(new Uint8Array(10));
    await assert.rejects(afp.fsync(), /ENOSPC|No space/);
    await afp.fsync().catch((e) => assert.notEqual(e.code, "ENOSPC")); // once only
    const other = new Writer(afp, { writeBehind: 8 });
    await other.write(new Uint8Array(10));
    await assert.rejects(afp.close(), /ENOSPC|No space/);
  },
);

backendTest(
  "Writer: with writeBehind 0 each call reports its own write",
  async (context) => {
    await using afp = await AIOFile.open("/dev/full", "wb", { context });
    const writer = new Writer(afp, { writeBehind: 0 });
    const results = await Promise.allSettled(
      [1, 2, 3].map((n) => writer.write(new Uint8Array(n))),
    );
    for (const result of results) {
      assert.equal(result.status, "rejected");
      assert.equal((result.reason as { code?: string }).code, "ENOSPC");
    }
  },
);

backendTest(
  "Writer: fsync waits for the writes issued before it",
  async (context, dir) => {
    const path = `${dir}/out`;
    const afp = await AIOFile.open(path, "w", { context });
    const writer = new Writer(afp);
    for (let i = 0; i < 64; i++) {
      await writer.write(
        String(i % 10).repeat(4096),
      );
    }
    await afp.fsync();
    // Read by another handle: every write has landed before fsync resolved.
    assert.equal((await Deno.stat(path)).size, 64 * 4096);
    await afp.close();
  },
);

backendTest(
  "Reader and iterChunked: every binary chunk owns its memory",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = Uint8Array.from(
      { length: 3 * 2 ** 20 + 77 },
      (_, i) => i % 251,
    );
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    const wrapper = await asyncOpen(path, "rb", { context });
    try {
      for (
        const chunks of [
          new Reader(afp, { chunkSize: 4096 }),
          wrapper.iterChunked(65536),
        ]
      ) {
        const seen = new Set<ArrayBufferLike>();
        const kept: Uint8Array[] = [];
        for await (const chunk of chunks) {
          assert.equal(chunk.byteOffset, 0);
          assert.equal(chunk.buffer.byteLength, chunk.length);
          assert.ok(!seen.has(chunk.buffer), "a buffer handed out twice");
          seen.add(chunk.buffer);
          kept.push(chunk);
        }
        // Kept chunks are not overwritten by the reads after them.
        assert.deepEqual(joinBytes(kept), data);
      }
    } finally {
      await wrapper.close();
    }
  },
);

backendTest(
  "Reader: transferring a chunk's buffer loses nothing",
  async (context, dir) => {
    const path = `${dir}/data`;
    const data = Uint8Array.from(
      { length: 3 * 2 ** 20 + 77 },
      (_, i) => i % 253,
    );
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    const copies: Uint8Array[] = [];
    for await (const chunk of new Reader(afp, { chunkSize: 65536 })) {
      copies.push(chunk.slice());
      (chunk.buffer as ArrayBuffer).transfer();
    }
    assert.deepEqual(joinBytes(copies), data);
  },
);

backendTest(
  "LineReader: transferring the buffers of other reads' results does not reach it",
  async (context, dir) => {
    const path = `${dir}/lines`;
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`);
    await Deno.writeTextFile(path, lines.join(""));
    await using afp = await AIOFile.open(path, "r", { context });
    await using other = await AIOFile.open(path, "rb", { context });
    const got: string[] = [];
    for await (const line of new LineReader(afp, { chunkSize: 512 })) {
      got.push(line);
      if (got.length % 100 === 0) {
        for (const file of [afp, other]) {
          const result = await file.readBytes(16, 0);
          (result.buffer as ArrayBuffer).transfer();
        }
      }
    }
    assert.deepEqual(got, lines);
    // Results of two files never share memory.
    const [a, b] = [await afp.readBytes(8, 0), await other.readBytes(8, 0)];
    assert.notEqual(a.buffer, b.buffer);
  },
);

backendTest(
  "Reader and LineReader end cleanly on an O_DIRECT file whose size is not aligned",
  async (context, dir) => {
    const path = `${dir}/direct`;
    // Lines of 100 bytes, and a last one without its separator, so that the
    // size (a multiple of neither 512 nor 4096) ends mid-block.
    const text = "x".repeat(99) + "\n";
    const data = encoder.encode(text.repeat(3000) + "end");
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context, direct: true });
    const chunks = await collect(new Reader(afp, { chunkSize: 65536 }));
    assert.deepEqual(joinBytes(chunks), data);
    const lines = await collect(new LineReader(afp, { chunkSize: 65536 }));
    assert.equal(lines.length, 3001);
    assert.deepEqual(lines.at(-1), encoder.encode("end"));
    // Where the file does not end, an unaligned offset is still refused.
    await assert.rejects(afp.read(4096, 100), RangeError);
  },
  { only: ["uring", "linux"] },
);
