/**
 * Behaviour of `AIOFile`, on every backend.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, createContext, Writer } from "../mod.ts";
import { DEFAULT_TUNING } from "../impl/tuning.ts";
import { backendTest } from "./backends.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A small seeded PRNG (mulberry32), so that failures can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInt(random: () => number, below: number): number {
  return Math.floor(random() * below);
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

// ---------------------------------------------------------------------------
// Lifecycle

backendTest(
  "closed is true before open and after close",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    const afp = new AIOFile(path, "w+", { context });
    assert.equal(afp.closed, true);
    assert.equal(afp.backend, undefined);
    const opened = await afp.open();
    assert.equal(opened, afp);
    assert.equal(afp.closed, false);
    await afp.close();
    assert.equal(afp.closed, true);
  },
);

backendTest(
  "name, mode, encoding and backend describe the file",
  async (context, dir, backend) => {
    const path = `${dir}/a.bin`;
    const afp = new AIOFile(path, "w+b", { context });
    assert.equal(afp.name, path);
    assert.equal(afp.mode.text, "w+b");
    assert.equal(afp.mode.readable, true);
    assert.equal(afp.mode.writable, true);
    assert.equal(afp.mode.plus, true);
    assert.equal(afp.mode.appending, false);
    assert.equal(afp.mode.created, false);
    assert.equal(afp.mode.binary, true);
    assert.equal(afp.encoding, "utf-8");
    await afp.open();
    try {
      assert.equal(afp.backend, backend);
    } finally {
      await afp.close();
    }
    const text = new AIOFile(new URL(`file://${path}`), "r", {
      encoding: "utf8",
      context,
    });
    assert.equal(text.name, path);
    assert.equal(text.mode.readable, true);
    assert.equal(text.mode.writable, false);
    assert.equal(text.mode.binary, false);
    assert.equal(text.encoding, "utf-8");
    await text.open();
    await text.close();
  },
);

backendTest(
  "open() twice returns the same promise and opens once",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    const afp = new AIOFile(path, "x+", { context });
    const first = afp.open();
    const second = afp.open();
    assert.equal(first, second);
    // "x" would fail with AlreadyExists if the file were opened a second time.
    await Promise.all([first, second]);
    const third = afp.open();
    assert.equal(third, first);
    assert.equal(await third, afp);
    await afp.write("once");
    await afp.close();
    assert.equal(await Deno.readTextFile(path), "once");
  },
);

backendTest(
  "open() after close() rejects BadResource",
  async (context, dir) => {
    const afp = new AIOFile(`${dir}/a.txt`, "w", { context });
    await afp.open();
    await afp.close();
    await assert.rejects(afp.open(), Deno.errors.BadResource);
    assert.equal(afp.closed, true);

    const never = new AIOFile(`${dir}/b.txt`, "w", { context });
    await never.close();
    await assert.rejects(never.open(), Deno.errors.BadResource);
    assert.equal(never.closed, true);
  },
);

backendTest("close() is idempotent", async (context, dir) => {
  const afp = new AIOFile(`${dir}/a.txt`, "w", { context });
  await afp.open();
  await afp.write("data");
  const first = afp.close();
  const second = afp.close();
  await Promise.all([first, second]);
  await afp.close();
  assert.equal(afp.closed, true);
  assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "data");
});

backendTest("close() waits for operations in flight", async (context, dir) => {
  const path = `${dir}/a.bin`;
  const afp = await AIOFile.open(path, "w+b", { context });
  const chunk = new Uint8Array(4096);
  let settled = 0;
  const ops: Promise<unknown>[] = [];
  for (let i = 0; i < 64; i++) {
    ops.push(afp.write(chunk.fill(i % 251).slice(), i * 4096));
  }
  for (let i = 0; i < 8; i++) ops.push(afp.read(-1, 0));
  ops.forEach((op) => op.finally(() => settled++).catch(() => {}));
  const closing = afp.close();
  await closing;
  const settledAtClose = settled;
  const results = await Promise.allSettled(ops);
  assert.equal(settledAtClose, ops.length, "close() resolved first");
  results.forEach((result, i) => {
    assert.equal(result.status, "fulfilled", String(i));
    if (i < 64) {
      assert.equal((result as PromiseFulfilledResult<unknown>).value, 4096);
    }
  });
  const data = await Deno.readFile(path);
  assert.equal(data.length, 64 * 4096);
  for (let i = 0; i < 64; i++) {
    assert.equal(data[i * 4096], i % 251);
    assert.equal(data[i * 4096 + 4095], i % 251);
  }
});

backendTest(
  "operations on a never-opened file reject BadResource",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello");
    const afp = new AIOFile(path, "r+", { context });
    await assert.rejects(afp.read(), Deno.errors.BadResource);
    await assert.rejects(afp.readBytes(), Deno.errors.BadResource);
    await assert.rejects(afp.write("x"), Deno.errors.BadResource);
    await assert.rejects(
      afp.writeBytes(new Uint8Array(1)),
      Deno.errors.BadResource,
    );
    await assert.rejects(afp.fsync(), Deno.errors.BadResource);
    await assert.rejects(afp.fdsync(), Deno.errors.BadResource);
    await assert.rejects(afp.truncate(), Deno.errors.BadResource);
    await assert.rejects(afp.size(), Deno.errors.BadResource);
    await afp.close();
    assert.equal(await Deno.readTextFile(path), "hello");
  },
);

backendTest(
  "operations on a closed file reject BadResource",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    const afp = await AIOFile.open(path, "w+", { context });
    await afp.write("hello");
    await afp.close();
    await assert.rejects(afp.read(), Deno.errors.BadResource);
    await assert.rejects(afp.readBytes(), Deno.errors.BadResource);
    await assert.rejects(afp.write("x"), Deno.errors.BadResource);
    await assert.rejects(
      afp.writeBytes(new Uint8Array(1)),
      Deno.errors.BadResource,
    );
    await assert.rejects(afp.fsync(), Deno.errors.BadResource);
    await assert.rejects(afp.fdsync(), Deno.errors.BadResource);
    await assert.rejects(afp.truncate(), Deno.errors.BadResource);
    await assert.rejects(afp.size(), Deno.errors.BadResource);
    assert.equal(await Deno.readTextFile(path), "hello");
  },
);

backendTest(
  "await using closes the file and keeps what was written",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    let outer: AIOFile<"w+"> | undefined;
    {
      await using afp = await AIOFile.open(path, "w+", { context });
      outer = afp;
      assert.equal(afp.closed, false);
      await afp.write("disposed");
    }
    assert.equal(outer.closed, true);
    await assert.rejects(outer.read(), Deno.errors.BadResource);
    assert.equal(await Deno.readTextFile(path), "disposed");
  },
);

backendTest("static open() opens; with a URL too", async (context, dir) => {
  const path = `${dir}/a.txt`;
  const afp = await AIOFile.open(path, "w", { context });
  try {
    assert.ok(afp instanceof AIOFile);
    assert.equal(afp.closed, false);
    assert.equal(await afp.write("hi"), 2);
  } finally {
    await afp.close();
  }
  const byUrl = await AIOFile.open(new URL(`file://${path}`), "r", { context });
  try {
    assert.equal(await byUrl.read(), "hi");
  } finally {
    await byUrl.close();
  }
});

// ---------------------------------------------------------------------------
// Modes

backendTest(
  '"w" truncates an existing file and creates a missing one',
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "previous contents");
    const afp = await AIOFile.open(path, "w+", { context });
    try {
      assert.equal(await afp.size(), 0);
      assert.equal(await afp.read(), "");
      await afp.write("new");
    } finally {
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(path), "new");

    const fresh = `${dir}/fresh.txt`;
    await (await AIOFile.open(fresh, "w", { context })).close();
    assert.equal((await Deno.stat(fresh)).size, 0);
  },
);

backendTest('"a" appends whatever the offset', async (context, dir) => {
  const path = `${dir}/a.txt`;
  await Deno.writeTextFile(path, "hello");
  const afp = await AIOFile.open(path, "a", { context });
  try {
    assert.equal(afp.mode.appending, true);
    assert.equal(await afp.write(" world", 0), 6);
    assert.equal(await afp.write("!", 1), 1);
    assert.equal(await afp.write("?", 1000), 1);
    assert.equal(await afp.size(), 13);
  } finally {
    await afp.close();
  }
  assert.equal(await Deno.readTextFile(path), "hello world!?");
});

backendTest(
  '"a+" creates a missing file, appends and reads',
  async (context, dir) => {
    const path = `${dir}/missing.bin`;
    const afp = await AIOFile.open(path, "a+b", { context });
    try {
      await afp.write(encoder.encode("abc"), 0);
      await afp.write(encoder.encode("def"), 0);
      assert.deepEqual(await afp.read(), encoder.encode("abcdef"));
      assert.deepEqual(await afp.read(2, 2), encoder.encode("cd"));
    } finally {
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(path), "abcdef");
  },
);

backendTest(
  '"x" fails with AlreadyExists when the file exists, creates it otherwise',
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "keep me");
    for (const mode of ["x", "x+", "xb", "x+b"]) {
      const afp = new AIOFile(path, mode, { context });
      await assert.rejects(afp.open(), Deno.errors.AlreadyExists);
      assert.equal(afp.closed, true);
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(path), "keep me");

    const fresh = `${dir}/fresh.txt`;
    const afp = await AIOFile.open(fresh, "x", { context });
    try {
      await afp.write("new");
    } finally {
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(fresh), "new");
  },
);

backendTest(
  '"r" fails with NotFound when the file is missing',
  async (context, dir) => {
    for (const mode of ["r", "rb", "r+", "r+b"]) {
      await assert.rejects(
        AIOFile.open(`${dir}/missing`, mode, { context }),
        Deno.errors.NotFound,
      );
    }
    await assert.rejects(Deno.stat(`${dir}/missing`), Deno.errors.NotFound);
  },
);

backendTest(
  '"r+" keeps the contents and writes in place',
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello world");
    const afp = await AIOFile.open(path, "r+", { context });
    try {
      assert.equal(await afp.read(), "hello world");
      await afp.write("W", 6);
      assert.equal(await afp.read(), "hello World");
      assert.equal(await afp.size(), 11);
    } finally {
      await afp.close();
    }
    assert.equal(await Deno.readTextFile(path), "hello World");
  },
);

// ---------------------------------------------------------------------------
// Reads

backendTest(
  "read returns exactly size bytes, short at EOF, never past EOF",
  async (context, dir) => {
    const path = `${dir}/a.bin`;
    const content = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
    await Deno.writeFile(path, content);
    const afp = await AIOFile.open(path, "rb", { context });
    try {
      assert.deepEqual(await afp.read(10), content.subarray(0, 10));
      assert.deepEqual(await afp.read(10, 5), content.subarray(5, 15));
      assert.deepEqual(
        await afp.read(150_000, 1000),
        content.subarray(1000, 151_000),
      );
      assert.deepEqual(await afp.read(100, 199_950), content.subarray(199_950));
      assert.deepEqual(await afp.read(300_000), content);
      assert.equal((await afp.read(1, 199_999)).length, 1);
      assert.equal((await afp.read(5, 200_000)).length, 0);
      assert.equal((await afp.read(5, 10_000_000)).length, 0);
      assert.equal((await afp.read(-1, 10_000_000)).length, 0);
      assert.equal((await afp.read(0)).length, 0);
      assert.equal((await afp.read(0, 100)).length, 0);
      assert.deepEqual(await afp.read(), content);
      assert.deepEqual(await afp.read(-1), content);
      assert.deepEqual(await afp.read(-1, 123_456), content.subarray(123_456));
    } finally {
      await afp.close();
    }
  },
);

backendTest(
  "a huge size on a small file returns what is there",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello");
    const afp = await AIOFile.open(path, "r", { context });
    try {
      // The buffer must follow the file, not the size asked for.
      assert.equal(await afp.read(2 ** 40), "hello");
      assert.equal(await afp.read(Number.MAX_SAFE_INTEGER, 1), "ello");
      assert.deepEqual(
        await afp.readBytes(2 ** 40, 3),
        new Uint8Array([108, 111]),
      );
    } finally {
      await afp.close();
    }
  },
);

backendTest(
  "read(-1) follows a file that grew or shrank",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    const afp = await AIOFile.open(path, "w+", { context });
    try {
      await afp.write("abc");
      assert.equal(await afp.read(), "abc");
      await afp.write("defgh", 3);
      assert.equal(await afp.read(), "abcdefgh");
      await afp.truncate(2);
      assert.equal(await afp.read(), "ab");
      assert.equal(await afp.read(-1, 1), "b");
    } finally {
      await afp.close();
    }
  },
);

// Deno 2.9 refuses /proc/* to anything short of --allow-all (the test task's).
backendTest(
  "read(-1) reads procfs files, whose reported size is 0",
  async (context) => {
    for (
      const path of ["/proc/cpuinfo", "/proc/self/status", "/proc/self/smaps"]
    ) {
      const afp = await AIOFile.open(path, "r", { context });
      try {
        assert.equal(await afp.size(), 0, `${path} reports a size`);
        const text = await afp.read(-1);
        const expected = await Deno.readTextFile(path);
        assert.ok(text.length > 0, `${path} read empty`);
        assert.ok(text.endsWith("\n"), `${path} was cut`);
        assert.ok((await afp.readBytes()).length > 0);
        if (path === "/proc/self/smaps") {
          // The first mapping can move between two reads (V8 grows its heap):
          // check the shape of each line, not the addresses.
          const mapping = /^[0-9a-f]+-[0-9a-f]+ [-rwxps]{4} /;
          assert.match(text.split("\n")[0], mapping);
          assert.match(await afp.read(64), mapping);
        } else {
          // The first line is stable between two reads.
          assert.equal(text.split("\n")[0], expected.split("\n")[0]);
          assert.equal(await afp.read(5), expected.slice(0, 5));
        }
        if (path === "/proc/cpuinfo") {
          // All of it, but "cpu MHz" changes from one read to the next.
          const steady = (t: string) =>
            t.split("\n").filter((line) => !line.startsWith("cpu MHz"));
          assert.deepEqual(steady(text), steady(expected));
        }
        if (path === "/proc/self/smaps" && expected.length > 65536) {
          // Larger than the first buffer read(-1) allocates.
          assert.ok(text.length > 65536, `${path} was cut at ${text.length}`);
        }
      } finally {
        await afp.close();
      }
    }
  },
);

backendTest(
  "text modes give strings, binary modes give Uint8Array",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "héllo");
    const text = await AIOFile.open(path, "r", { context });
    const binary = await AIOFile.open(path, "rb", { context });
    try {
      const s = await text.read();
      assert.equal(typeof s, "string");
      assert.equal(s, "héllo");
      assert.equal(await text.read(3, 0), "hé");
      const b = await binary.read();
      assert.ok(b instanceof Uint8Array);
      assert.deepEqual(b, encoder.encode("héllo"));
      assert.ok((await binary.read(0)) instanceof Uint8Array);
      assert.equal(await text.read(0), "");
      assert.equal(await text.read(10, 100), "");
    } finally {
      await text.close();
      await binary.close();
    }
  },
);

backendTest(
  "readBytes and writeBytes work in text mode",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    const afp = await AIOFile.open(path, "w+", { context });
    try {
      const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
      assert.equal(await afp.writeBytes(bytes, 2), 4);
      const back = await afp.readBytes();
      assert.ok(back instanceof Uint8Array);
      assert.deepEqual(back, new Uint8Array([0, 0, 0xff, 0xfe, 0x00, 0x41]));
      assert.deepEqual(await afp.readBytes(2, 3), new Uint8Array([0xfe, 0x00]));
      // Not valid UTF-8 as text: a TypeError, and the bytes are still readable.
      await assert.rejects(afp.read(), TypeError);
    } finally {
      await afp.close();
    }
  },
);

backendTest(
  "writeBytes in binary mode; the caller's buffer may change after the call",
  async (context, dir) => {
    const path = `${dir}/a.bin`;
    const afp = await AIOFile.open(path, "w+b", { context });
    try {
      const data = new Uint8Array([1, 2, 3, 4]);
      const written = afp.writeBytes(data, 0);
      data.fill(9);
      assert.equal(await written, 4);
      assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3, 4]));
    } finally {
      await afp.close();
    }
  },
);

backendTest("utf-16le round trip", async (context, dir) => {
  const path = `${dir}/a.txt`;
  const text = "héllo wörld 😀 ☃";
  const afp = await AIOFile.open(path, "w+", { encoding: "utf-16le", context });
  try {
    assert.equal(afp.encoding, "utf-16le");
    assert.equal(await afp.write(text), text.length * 2);
    assert.equal(await afp.size(), text.length * 2);
    assert.equal(await afp.read(), text);
    assert.equal(await afp.read(4, 2), "él");
  } finally {
    await afp.close();
  }
  const raw = await Deno.readFile(path);
  assert.equal(new TextDecoder("utf-16le").decode(raw), text);
  assert.deepEqual(raw.subarray(0, 4), new Uint8Array([0x68, 0, 0xe9, 0]));
});

backendTest(
  "latin1 reads; a writable latin1 file is a TypeError at construction",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeFile(path, new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
    const afp = await AIOFile.open(path, "r", { encoding: "latin1", context });
    try {
      assert.equal(await afp.read(), "café");
      assert.equal(await afp.read(1, 3), "é");
    } finally {
      await afp.close();
    }
    for (const mode of ["w", "r+", "a", "x", "w+", "a+"]) {
      assert.throws(
        () => new AIOFile(path, mode, { encoding: "latin1", context }),
        TypeError,
      );
      await assert.rejects(
        AIOFile.open(path, mode, { encoding: "latin1", context }),
        TypeError,
      );
    }
    // The failed constructions above did not touch the file.
    assert.deepEqual(
      await Deno.readFile(path),
      new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
    );
  },
);

backendTest(
  "a text read that cuts a multi-byte character rejects TypeError",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "aé€😀");
    const afp = await AIOFile.open(path, "r", { context });
    try {
      await assert.rejects(afp.read(2, 0), TypeError); // "a" + half of é
      await assert.rejects(afp.read(2, 2), TypeError); // second byte of é + ...
      await assert.rejects(afp.read(2, 3), TypeError); // two bytes of €
      await assert.rejects(afp.read(-1, 7), TypeError); // inside 😀
      assert.equal(await afp.read(3, 0), "aé");
      assert.equal(await afp.read(3, 3), "€");
      assert.equal(await afp.read(-1, 6), "😀");
      assert.deepEqual(await afp.readBytes(2, 0), new Uint8Array([0x61, 0xc3]));
    } finally {
      await afp.close();
    }
  },
);

// ---------------------------------------------------------------------------
// Writes, syncs, truncate, size

backendTest(
  "write resolves to the number of bytes written",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    const afp = await AIOFile.open(path, "w+", { context });
    try {
      assert.equal(await afp.write(""), 0);
      assert.equal(await afp.write("abc"), 3);
      assert.equal(await afp.write("é", 3), 2);
      assert.equal(await afp.write("€", 5), 3);
      assert.equal(await afp.write("😀", 8), 4);
      assert.equal(await afp.size(), 12);
      assert.equal(await afp.read(), "abcé€😀");
      const big = "ж".repeat(300_000);
      assert.equal(await afp.write(big, 12), 600_000);
      assert.equal(await afp.read(-1, 12), big);
    } finally {
      await afp.close();
    }
  },
);

backendTest(
  "a write past the end leaves a hole of zeros",
  async (context, dir) => {
    const path = `${dir}/a.bin`;
    const afp = await AIOFile.open(path, "w+b", { context });
    try {
      assert.equal(await afp.write(new Uint8Array([7]), 10), 1);
      assert.equal(await afp.size(), 11);
      const data = await afp.read();
      assert.deepEqual(data, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]));
    } finally {
      await afp.close();
    }
  },
);

backendTest("fsync, fdsync, truncate and size", async (context, dir) => {
  const path = `${dir}/a.txt`;
  const afp = await AIOFile.open(path, "w+", { context });
  try {
    assert.equal(await afp.size(), 0);
    await afp.write("hello world");
    assert.equal(await afp.fsync(), undefined);
    assert.equal(await afp.fdsync(), undefined);
    assert.equal(await afp.size(), 11);
    assert.equal((await Deno.stat(path)).size, 11);
    await afp.truncate(5);
    assert.equal(await afp.size(), 5);
    assert.equal(await afp.read(), "hello");
    await afp.truncate(8);
    assert.equal(await afp.size(), 8);
    assert.deepEqual(
      await afp.readBytes(),
      new Uint8Array([104, 101, 108, 108, 111, 0, 0, 0]),
    );
    await afp.truncate();
    assert.equal(await afp.size(), 0);
    assert.equal(await afp.read(), "");
  } finally {
    await afp.close();
  }
  assert.equal((await Deno.stat(path)).size, 0);
});

backendTest(
  "size() of a read-only file and after external changes",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "12345");
    const afp = await AIOFile.open(path, "r", { context });
    try {
      assert.equal(await afp.size(), 5);
      await Deno.writeTextFile(path, "123456789", { append: false });
      assert.equal(await afp.size(), 9);
      assert.equal(await afp.read(), "123456789");
    } finally {
      await afp.close();
    }
  },
);

// ---------------------------------------------------------------------------
// Concurrency

backendTest(
  "1000 shuffled concurrent positional writes",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    const count = 1000;
    const line = (i: number) => `line ${String(i).padStart(6, "0")}\n`; // 12 bytes
    const width = line(0).length;
    const random = prng(1000);
    const order = shuffle(Array.from({ length: count }, (_, i) => i), random);
    const afp = await AIOFile.open(path, "w+", { context });
    try {
      const results = await Promise.all(
        order.map((i) => afp.write(line(i), i * width)),
      );
      assert.ok(results.every((n) => n === width));
      const expected = Array.from({ length: count }, (_, i) => line(i)).join(
        "",
      );
      assert.equal(await afp.size(), expected.length);
      assert.equal(await afp.read(), expected);
      // Concurrent reads of every line, shuffled too.
      const lines = await Promise.all(
        order.map((i) => afp.read(width, i * width)),
      );
      lines.forEach((got, k) => assert.equal(got, line(order[k])));
    } finally {
      await afp.close();
    }
    const onDisk = await Deno.readTextFile(path);
    assert.equal(onDisk.length, count * width);
    assert.equal(
      onDisk,
      Array.from({ length: count }, (_, i) => line(i)).join(""),
    );
  },
);

backendTest(
  "random concurrent reads and writes match an in-memory model",
  async (context, dir) => {
    const path = `${dir}/a.bin`;
    const RANGE = 1 << 20;
    const MAX = 64 * 1024;
    const random = prng(20240601);
    const model = new Uint8Array(RANGE + MAX);
    let length = 0;
    let ops = 0;
    const sizeOf = () => {
      const kind = random();
      if (kind < 0.4) return 1 + randomInt(random, 64);
      if (kind < 0.8) return 1 + randomInt(random, 4096);
      return 1 + randomInt(random, MAX);
    };
    const overlaps = (a: number, b: number, c: number, d: number) =>
      a < d && c < b;
    const afp = await AIOFile.open(path, "w+b", { context });
    try {
      for (let round = 0; round < 40; round++) {
        // Writes of this round: non-overlapping ranges.
        const writes: { offset: number; data: Uint8Array }[] = [];
        const wanted = 1 + randomInt(random, 6);
        for (let tries = 0; writes.length < wanted && tries < 50; tries++) {
          const size = sizeOf();
          const offset = randomInt(random, RANGE);
          if (
            writes.some((w) =>
              overlaps(
                offset,
                offset + size,
                w.offset,
                w.offset + w.data.length,
              )
            )
          ) continue;
          const data = new Uint8Array(size);
          for (let i = 0; i < size; i++) data[i] = randomInt(random, 256);
          writes.push({ offset, data });
        }
        // Reads of this round: ranges that no write of this round touches.
        const reads: { offset: number; size: number }[] = [];
        const wantedReads = 1 + randomInt(random, 6);
        for (let tries = 0; reads.length < wantedReads && tries < 50; tries++) {
          const size = sizeOf();
          const offset = randomInt(random, RANGE + MAX);
          if (
            writes.some((w) =>
              overlaps(
                offset,
                offset + size,
                w.offset,
                w.offset + w.data.length,
              )
            )
          ) continue;
          reads.push({ offset, size });
        }
        const before = length;
        const after = Math.max(
          before,
          ...writes.map((w) => w.offset + w.data.length),
        );
        const pending: Promise<void>[] = [];
        const jobs: (() => Promise<void>)[] = [
          ...writes.map((w) => async () => {
            assert.equal(await afp.write(w.data, w.offset), w.data.length);
          }),
          ...reads.map((r) => async () => {
            const got = await afp.read(r.size, r.offset);
            const end = r.offset + r.size;
            // The file may grow during the round: bytes between the old and the
            // new end are zeros (a hole) or absent; bytes before the old end are
            // the model's.
            const least = Math.max(0, Math.min(end, before) - r.offset);
            const most = Math.max(0, Math.min(end, after) - r.offset);
            assert.ok(
              got.length >= least && got.length <= most,
              `round ${round}: read(${r.size}, ${r.offset}) gave ${got.length} bytes, expected ${least}..${most}`,
            );
            assert.deepEqual(
              got,
              model.subarray(r.offset, r.offset + got.length),
              `round ${round}: read(${r.size}, ${r.offset}) differs`,
            );
          }),
        ];
        for (const job of shuffle(jobs, random)) pending.push(job());
        ops += jobs.length;
        await Promise.all(pending);
        for (const w of writes) model.set(w.data, w.offset);
        length = after;
      }
      assert.ok(ops >= 200, `only ${ops} operations`);
      assert.equal(await afp.size(), length);
      assert.deepEqual(await afp.read(), model.subarray(0, length));
    } finally {
      await afp.close();
    }
    assert.deepEqual(await Deno.readFile(path), model.subarray(0, length));
  },
);

// ---------------------------------------------------------------------------
// A Deno.FsFile passed in

backendTest(
  "a user's Deno.FsFile is served by deno and not closed by close()",
  async (context, dir) => {
    const path = `${dir}/a.txt`;
    await Deno.writeTextFile(path, "hello world");
    const fsFile = await Deno.open(path, { read: true, write: true });
    try {
      const afp = new AIOFile(fsFile, "r+", { context });
      await afp.open();
      try {
        assert.equal(afp.backend, "deno");
        assert.equal(await afp.read(5, 6), "world");
        assert.equal(await afp.write("HELLO", 0), 5);
        const all = await Promise.all([
          afp.read(5, 0),
          afp.read(5, 6),
          afp.write("!", 11),
          afp.read(-1),
        ]);
        assert.equal(all[0], "HELLO");
        assert.equal(all[1], "world");
      } finally {
        await afp.close();
      }
      assert.equal(afp.closed, true);
      // The FsFile still works.
      await fsFile.seek(0, Deno.SeekMode.Start);
      const buffer = new Uint8Array(64);
      const n = await fsFile.read(buffer);
      assert.equal(decoder.decode(buffer.subarray(0, n ?? 0)), "HELLO world!");
      await fsFile.write(encoder.encode("?"));
      assert.equal((await fsFile.stat()).size, 13);
    } finally {
      fsFile.close();
    }
    assert.equal(await Deno.readTextFile(path), "HELLO world!?");
  },
);

backendTest(
  "a caller's buffer changed, resized or transferred right after write() does not change what is written",
  async (context, dir) => {
    await using afp = await AIOFile.open(`${dir}/a.bin`, "w+b", { context });
    const resizable = new ArrayBuffer(8192, { maxByteLength: 16384 });
    const view = new Uint8Array(resizable).fill(1);
    const written = afp.write(view, 0);
    resizable.resize(0);
    const shared = new Uint8Array(new SharedArrayBuffer(4096)).fill(2);
    const sharedWrite = afp.write(shared, 8192);
    shared.fill(9);
    const moved = new Uint8Array(4096).fill(3);
    const movedWrite = afp.write(moved, 12288);
    moved.buffer.transfer();
    assert.deepEqual(await Promise.all([written, sharedWrite, movedWrite]), [
      8192,
      4096,
      4096,
    ]);
    const back = await afp.read();
    assert.ok(back.subarray(0, 8192).every((b) => b === 1));
    assert.ok(back.subarray(8192, 12288).every((b) => b === 2));
    assert.ok(back.subarray(12288).every((b) => b === 3));
  },
);

backendTest(
  "the caller may change its buffer as soon as a write call returns, however the write is done",
  async (_context, dir, backend) => {
    // One request at a time, so that writes also wait for a turn (and are
    // copied) rather than being done inline.
    await using context = createContext({ backend, maxRequests: 1 });
    const path = `${dir}/mine.bin`;
    await using afp = await AIOFile.open(path, "w+b", { context });
    const large = DEFAULT_TUNING.inlineWriteMax + 4096;
    const buffer = new Uint8Array(large);
    const expected = new Uint8Array(4 * 4096 + large);
    const calls: [number, () => Promise<number>][] = [];
    const writer = new Writer(afp, { offset: 2 * 4096 });
    let at = 0;
    const add = (
      length: number,
      write: (bytes: Uint8Array) => Promise<number>,
    ) => {
      const value = calls.length + 1;
      const start = at;
      at += length;
      expected.fill(value, start, start + length);
      calls.push([value, () => {
        buffer.fill(value, 0, length);
        const written = write(buffer.subarray(0, length));
        buffer.fill(0xee); // changed at once
        return written;
      }]);
    };
    add(4096, (bytes) => afp.write(bytes, 0));
    add(4096, (bytes) => afp.writeBytes(bytes, 4096));
    add(4096, (bytes) => writer.write(bytes));
    add(4096, (bytes) => writer.write(bytes));
    add(large, (bytes) => afp.write(bytes, 4 * 4096));
    // All in one tick, with a read holding the one turn first.
    const pending: Promise<unknown>[] = [afp.read(1, 0)];
    for (const [, call] of calls) pending.push(call());
    // And once more each, awaited one by one (turns free: inline where possible).
    await Promise.all(pending);
    for (const [, call] of calls) await call();
    await writer.flush();
    // Compared byte by byte: a diff of 270 KiB would take node:assert ages.
    const got = await afp.read(expected.length, 0);
    assert.equal(got.length, expected.length);
    const differs = got.findIndex((byte, i) => byte !== expected[i]);
    assert.equal(differs, -1, `the file differs at byte ${differs}`);
  },
);

backendTest(
  "read: every binary result owns its memory, whatever its size",
  async (context, dir) => {
    const path = `${dir}/small.bin`;
    const data = crypto.getRandomValues(new Uint8Array(65536));
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    const offsets = Array.from({ length: 64 }, (_, i) => (i * 977) % 60000);
    const sizes = [1, 16, 512, 4096, 4097, 65536];
    const results = await Promise.all(
      offsets.map((o, i) => afp.read(sizes[i % sizes.length], o)),
    );
    const buffers = new Set<ArrayBufferLike>();
    results.forEach((result, i) => {
      const at = offsets[i];
      const expected = data.subarray(at, at + sizes[i % sizes.length]);
      assert.deepEqual(result, expected);
      assert.equal(result.byteOffset, 0);
      assert.equal(result.buffer.byteLength, result.length);
      buffers.add(result.buffer);
    });
    assert.equal(buffers.size, results.length);
    // readBytes and short reads at the end of the file too.
    for (
      const bytes of [await afp.readBytes(16, 0), await afp.read(100, 65500)]
    ) {
      assert.equal(bytes.byteOffset, 0);
      assert.equal(bytes.buffer.byteLength, bytes.length);
    }
    // A result's buffer holds its own bytes only: hashing it hashes them.
    const header = await afp.read(16, 1000);
    const digest = await crypto.subtle.digest(
      "SHA-256",
      header.buffer as ArrayBuffer,
    );
    const expected = await crypto.subtle.digest(
      "SHA-256",
      data.slice(1000, 1016),
    );
    assert.deepEqual(new Uint8Array(digest), new Uint8Array(expected));
  },
);

backendTest(
  "read: transferring one result's buffer while reads are in flight changes no other read",
  async (_context, dir, backend) => {
    const path = `${dir}/small.bin`;
    const data = crypto.getRandomValues(new Uint8Array(65536));
    await Deno.writeFile(path, data);
    // One request at a time: the others wait their turn.
    await using context = createContext({ backend, maxRequests: 1 });
    await using afp = await AIOFile.open(path, "rb", { context });
    for (let round = 0; round < 20; round++) {
      const reads = Array.from(
        { length: 16 },
        (_, i) => afp.read(512, i * 512),
      );
      const first = await reads[0];
      const moved = (first.buffer as ArrayBuffer).transfer();
      assert.equal(moved.byteLength, 512);
      const results = await Promise.all(reads.slice(1));
      results.forEach((bytes, i) =>
        assert.deepEqual(bytes, data.subarray((i + 1) * 512, (i + 2) * 512))
      );
    }
    assert.deepEqual(await afp.read(4096, 100), data.subarray(100, 4196));
  },
);
