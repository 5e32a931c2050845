/**
 * The `linux` backend (Linux native AIO): the `RWF_NOWAIT` fallback, fairness
 * to timers, `O_DIRECT`, special files, backpressure beyond the backend's
 * slots, closing with requests in flight (no AIO context or descriptor leaked),
 * the raw-syscall path, and process exit.
 *
 * The tests that need a context run only where the backend is available, and
 * show as skipped with the reason elsewhere.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { AIOFile, createContext, Writer } from "../mod.ts";
import { LinuxBackend, linuxProvider } from "../impl/linux.ts";
import { type Backend, CannotServe } from "../impl/backend.ts";
import { UringBackend, uringProvider } from "../impl/uring.ts";
import { loadUring, type UringCalls } from "../ffi/uring.ts";
import { ThreadFile } from "../impl/thread.ts";
import { DEFAULT_TUNING } from "../impl/tuning.ts";
import { availableBackends, unavailableReason } from "../impl/providers.ts";
import { ERRNO } from "../ffi/errno.ts";
import { libcPaths, loadLibc } from "../ffi/libc.ts";
import { type AioCalls, LIBAIO_SYMBOLS, libaioPaths } from "../ffi/libaio.ts";
import { loadLibrary } from "../ffi/load.ts";
import { report, runFixture, type RunResult, show } from "./subprocess.ts";
import { backendTest, isExt4, readOnly, withTempDir } from "./backends.ts";

const LINUX = { only: ["linux"] } as const;
/** The kernel-queue backends, which share impl/ring/. */
const {
  slots: SLOTS,
  directSubmitEvery: DIRECT_SUBMIT_EVERY,
  inlineWriteMax: INLINE_WRITE_MAX,
  yieldEveryMs: YIELD_EVERY_MS,
} = DEFAULT_TUNING;
const QUEUES = { only: ["uring", "linux"] } as const;
const POSIX_FADV_RANDOM = 1;
const POSIX_FADV_DONTNEED = 4;
const KiB = 1024;
const MiB = 1024 * KiB;

/** Deterministic pseudo-random bytes (xorshift32), cheap for tens of MiB. */
function pattern(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/** A small deterministic generator for offsets and sizes. */
function random(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % below;
  };
}

/** Where two byte ranges first differ, or -1 when they are equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function assertBytes(got: Uint8Array, expected: Uint8Array, what: string) {
  const at = firstDifference(got, expected);
  assert.equal(
    at,
    -1,
    `${what}: ${got.length} bytes read, ${expected.length} expected, first difference at ${at}`,
  );
}

/** Writes a file, makes it durable, and evicts it from the page cache. */
async function writeCold(path: string, data: Uint8Array): Promise<void> {
  await Deno.writeFile(path, data);
  evict(path);
}

function evict(path: string): void {
  const fd = fs.openSync(path, "r+");
  try {
    fs.fsyncSync(fd);
    const error = fadvise(fd, POSIX_FADV_DONTNEED);
    assert.equal(error, 0, `posix_fadvise failed: error ${error}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** `posix_fadvise(2)`, which only these tests call. */
const FADVISE_SYMBOLS = {
  posix_fadvise: {
    parameters: [
      "i32", // int fd
      "i64", // off_t offset
      "i64", // off_t len
      "i32", // int advice
    ],
    result: "i32", // int (an error number, errno untouched)
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Gives the kernel `advice` about the whole of `fd`'s file: 0, or an error number. */
function fadvise(fd: number, advice: number): number {
  const libc = loadLibrary(libcPaths(), FADVISE_SYMBOLS);
  assert.ok(libc.ok, "libc must load where the linux backend is available");
  try {
    return libc.library.symbols.posix_fadvise(fd, 0n, 0n, advice);
  } finally {
    libc.library.close();
  }
}

/** Counts the calls of `ThreadFile.prototype.read` (the fallback of `-EAGAIN`) while `use` runs. */
async function countingThreadReads<T>(
  use: (count: () => number) => Promise<T>,
): Promise<T> {
  const original = ThreadFile.prototype.read;
  let calls = 0;
  ThreadFile.prototype.read = function (this: ThreadFile, into, offset) {
    calls++;
    return original.call(this, into, offset);
  };
  try {
    return await use(() => calls);
  } finally {
    ThreadFile.prototype.read = original;
  }
}

/**
 * A 1 ms interval starved by microtasks fires once or not at all over a run;
 * one that fires less often than this (in ms) is taken as starved. Lenient:
 * on a loaded 2-core machine an interval that is not starved still fires
 * only every few milliseconds.
 */
const STARVED_BELOW_ONE_TICK_IN_MS = 100;

/** Counts the ticks of a 1 ms interval while `use` runs. */
async function countingTicks<T>(
  use: () => Promise<T>,
): Promise<{ result: T; ticks: number; elapsedMs: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const start = performance.now();
  try {
    const result = await use();
    return { result, ticks, elapsedMs: performance.now() - start };
  } finally {
    clearInterval(timer);
  }
}

function aioNr(): number {
  return Number(Deno.readTextFileSync("/proc/sys/fs/aio-nr").trim());
}

/** The AIO contexts of this process: each maps its ring as `/[aio]`. */
function aioRings(): number {
  return Deno.readTextFileSync("/proc/self/maps").split("\n")
    .filter((line) => line.endsWith("/[aio] (deleted)")).length;
}

/** Other processes that hold AIO contexts now (those whose maps this one may read). */
function otherAioProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${pid}/maps`).includes("/[aio] ")) {
        pids.push(pid);
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** `fs.aio-nr` and whether another process could change it meanwhile. */
function aioSnapshot(): { aioNr: number; others: number[] } {
  return { aioNr: aioNr(), others: otherAioProcesses() };
}

/**
 * Checks that `fs.aio-nr` is back to its value in `before`. It counts every
 * process's contexts: another process's may come and go meanwhile, so it is
 * polled for a while, and when another process held AIO contexts at either
 * end the per-process check ({@linkcode aioRings}) has to do.
 */
async function assertAioNrBack(
  before: { aioNr: number; others: number[] },
): Promise<void> {
  let now = aioNr();
  for (let i = 0; i < 20 && now !== before.aioNr; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    now = aioNr();
  }
  if (now === before.aioNr) return;
  const others = [...before.others, ...otherAioProcesses()];
  if (others.length > 0) {
    console.warn(
      `fs.aio-nr ${before.aioNr} -> ${now}, not checked: processes ${
        [...new Set(others)].join(", ")
      } use AIO too`,
    );
    return;
  }
  assert.equal(now, before.aioNr, "fs.aio-nr is not back to its value");
}

function openDescriptors(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

function isDirectRangeError(error: unknown): boolean {
  assert.ok(error instanceof RangeError, `not a RangeError: ${error}`);
  assert.match(error.message, /O_DIRECT/);
  const alignment = error.message.match(/multiples? of (\d+)/);
  assert.ok(alignment, `the message names no alignment: ${error.message}`);
  assert.equal(4096 % Number(alignment[1]), 0, error.message);
  return true;
}

// 1. RWF_NOWAIT: a cold file is read through the thread pool, never in io_submit.

backendTest(
  "reads of a file evicted from the page cache fall back to the thread pool while timers keep firing",
  async (context, dir) => {
    const path = `${dir}/cold.bin`;
    const data = pattern(32 * MiB, 1);
    await writeCold(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    assert.equal(afp.backend, "linux");

    // The whole file in random pieces of 4 KiB to 64 KiB, in random order.
    const next = random(7);
    const pieces: [offset: number, size: number][] = [];
    for (let offset = 0; offset < data.length;) {
      const size = Math.min(4 * KiB + next(60 * KiB + 1), data.length - offset);
      pieces.push([offset, size]);
      offset += size;
    }
    for (let i = pieces.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
    }

    const { fallbacks, results, ticks, elapsedMs } = await countingThreadReads(
      async (count) => {
        const timed = await countingTicks(() =>
          Promise.all(pieces.map(([offset, size]) => afp.read(size, offset)))
        );
        return { ...timed, results: timed.result, fallbacks: count() };
      },
    );
    for (const [i, [offset, size]] of pieces.entries()) {
      assertBytes(
        results[i],
        data.subarray(offset, offset + size),
        `read(${size}, ${offset})`,
      );
    }
    assert.ok(
      fallbacks > 0,
      `no read of the cold file took the thread-pool fallback (${pieces.length} reads)`,
    );
    assert.ok(ticks > 0, "a 1 ms interval never fired during the reads");
    assert.ok(
      ticks >= elapsedMs / STARVED_BELOW_ONE_TICK_IN_MS,
      `a 1 ms interval fired ${ticks} times in ${elapsedMs.toFixed(0)} ms`,
    );
  },
  LINUX,
);

backendTest(
  "a read whose range is only partly in the page cache returns every byte",
  async (context, dir) => {
    const path = `${dir}/partly.bin`;
    const data = pattern(MiB, 5);
    await writeCold(path, data);
    // Bring only the first page back: POSIX_FADV_RANDOM turns readahead off
    // for this descriptor, so RWF_NOWAIT finds page 0 and misses page 1.
    const fd = fs.openSync(path, "r");
    try {
      assert.equal(fadvise(fd, POSIX_FADV_RANDOM), 0);
      assert.equal(fs.readSync(fd, new Uint8Array(4096), 0, 4096, 0), 4096);
    } finally {
      fs.closeSync(fd);
    }
    await using afp = await AIOFile.open(path, "rb", { context });
    assert.equal(afp.backend, "linux");
    assertBytes(
      await afp.read(65536, 0),
      data.subarray(0, 65536),
      "read(65536, 0) with only its first page cached",
    );
    // The same through the read-to-the-end path.
    evict(path);
    const again = fs.openSync(path, "r");
    try {
      fadvise(again, POSIX_FADV_RANDOM);
      fs.readSync(again, new Uint8Array(4096), 0, 4096, 8192);
    } finally {
      fs.closeSync(again);
    }
    assertBytes(
      await afp.read(-1, 8192),
      data.subarray(8192),
      "read(-1, 8192)",
    );
  },
  LINUX,
);

// 2. Completions reaped inline resolve in microtasks: timers must still run.

backendTest(
  "a loop of awaited page-cached reads does not starve a 1 ms interval",
  async (context, dir, backend) => {
    const path = `${dir}/warm.bin`;
    const size = MiB;
    // Each 32-bit word holds its own index: any read checks itself cheaply.
    const words = new Uint32Array(size / 4).map((_, i) => i);
    await Deno.writeFile(path, new Uint8Array(words.buffer));
    await Deno.readFile(path); // in the page cache, so reads complete inline
    await using afp = await AIOFile.open(path, "rb", { context });
    assert.equal(afp.backend, backend);
    const next = random(3);
    const { ticks, elapsedMs } = await countingTicks(async () => {
      for (let i = 0; i < 20000; i++) {
        const offset = next(size / 4096) * 4096;
        const bytes = await afp.read(4096, offset);
        const view = new DataView(bytes.buffer, bytes.byteOffset, 4096);
        if (
          bytes.length !== 4096 ||
          view.getUint32(0, true) !== offset / 4 ||
          view.getUint32(4092, true) !== offset / 4 + 1023
        ) {
          assert.fail(`read(4096, ${offset}) returned wrong bytes`);
        }
      }
    });
    assert.ok(ticks > 0, "a 1 ms interval never fired during 20000 reads");
    assert.ok(
      ticks >= elapsedMs / STARVED_BELOW_ONE_TICK_IN_MS,
      `a 1 ms interval fired ${ticks} times in ${elapsedMs.toFixed(0)} ms`,
    );
  },
  QUEUES,
);

backendTest(
  "a loop of awaited buffered writes does not starve a 1 ms interval",
  async (context, dir, backend) => {
    const path = `${dir}/writes.bin`;
    await using afp = await AIOFile.open(path, "w+b", { context });
    assert.equal(afp.backend, backend);
    const block = new Uint8Array(4096);
    const { ticks, elapsedMs } = await countingTicks(async () => {
      for (let i = 0; i < 20000; i++) {
        block[0] = i & 0xff;
        assert.equal(await afp.write(block, (i % 256) * 4096), 4096);
      }
    });
    assert.ok(ticks > 0, "a 1 ms interval never fired during 20000 writes");
    assert.ok(
      ticks >= elapsedMs / STARVED_BELOW_ONE_TICK_IN_MS,
      `a 1 ms interval fired ${ticks} times in ${elapsedMs.toFixed(0)} ms`,
    );
    // The last write (i = 19999) went to block 19999 % 256.
    const last = await afp.read(1, (19999 % 256) * 4096);
    assert.equal(last[0], 19999 & 0xff);
  },
  QUEUES,
);

backendTest(
  "uring: buffered writes to ext4 up to INLINE_WRITE_MAX are done inline; larger and O_DIRECT writes go through the ring",
  async (context, dir) => {
    const original = ThreadFile.prototype.writeNow;
    let inline = 0;
    ThreadFile.prototype.writeNow = function (this: ThreadFile, data, offset) {
      inline++;
      return original.call(this, data, offset);
    };
    try {
      await using buffered = await AIOFile.open(`${dir}/b.bin`, "w+b", {
        context,
      });
      // Only ext4 takes buffered writes inline.
      const expected = isExt4(dir) ? 1 : 0;
      await buffered.write(new Uint8Array(8192).fill(1), 0);
      assert.equal(inline, expected);
      await using direct = await AIOFile.open(`${dir}/d.bin`, "w+b", {
        context,
        direct: true,
      });
      await direct.write(new Uint8Array(4096).fill(2), 0);
      assert.equal(inline, expected);
      // Larger than INLINE_WRITE_MAX: queued, so no write holds the event loop long.
      const large = new Uint8Array(INLINE_WRITE_MAX + 4096).fill(3);
      assert.equal(await buffered.write(large, 0), large.length);
      assert.equal(inline, expected);
      assert.deepEqual(await buffered.read(large.length, 0), large);
      assert.deepEqual(
        await direct.read(4096, 0),
        new Uint8Array(4096).fill(2),
      );
    } finally {
      ThreadFile.prototype.writeNow = original;
    }
  },
  { only: ["uring"] },
);

backendTest(
  "uring: a write done inline is in the file when write() returns, taken from the caller's buffer without a copy",
  async (context, dir) => {
    if (!isExt4(dir)) return; // only ext4 takes buffered writes inline
    const path = `${dir}/inline.bin`;
    await using afp = await AIOFile.open(path, "w+b", { context });
    const writer = new Writer(afp, { offset: 8192 });
    const data = new Uint8Array(4096).fill(7);
    const slice = Uint8Array.prototype.slice;
    let copies = 0;
    Uint8Array.prototype.slice = function (this: Uint8Array, ...args) {
      copies++;
      return slice.apply(this, args);
    };
    let written: Promise<number>[];
    try {
      written = [
        afp.write(data, 0),
        afp.writeBytes(data, 4096),
        writer.write(data),
      ];
    } finally {
      Uint8Array.prototype.slice = slice;
    }
    // Nothing awaited yet.
    assert.deepEqual(
      new Uint8Array(fs.readFileSync(path)),
      new Uint8Array(12288).fill(7),
    );
    assert.equal(copies, 0, "the caller's bytes were copied");
    assert.deepEqual(await Promise.all(written), [4096, 4096, 4096]);
  },
  { only: ["uring"] },
);

backendTest(
  "a buffered write the kernel refuses (EFBIG on ext4) rejects with its errno and the file's name",
  async (context, dir, backend) => {
    const path = `${dir}/big.bin`;
    await using afp = await AIOFile.open(path, "w+b", { context });
    assert.equal(afp.backend, backend);
    // Past ext4's largest file (16 TiB): EFBIG. Other file systems allow more.
    if (!isExt4(dir)) return;
    await assert.rejects(afp.write(new Uint8Array(16), 2 ** 50), (error) => {
      assert.equal((error as { code?: string }).code, "EFBIG");
      assert.match(String(error), /big\.bin/);
      return true;
    });
    assert.equal(await afp.write(new Uint8Array(16).fill(1), 0), 16);
  },
  QUEUES,
);

// 3. O_DIRECT.

backendTest(
  "O_DIRECT: aligned reads and writes work, misaligned ones are a RangeError that changes nothing",
  async (context, dir, backend) => {
    const path = `${dir}/direct.bin`;
    await using afp = await AIOFile.open(path, "w+b", {
      context,
      direct: true,
    });
    assert.equal(afp.backend, backend);
    const data = pattern(8192, 2);
    assert.equal(await afp.write(data, 4096), 8192);
    assertBytes(await afp.read(8192, 4096), data, "read(8192, 4096)");
    const expected = new Uint8Array(12288);
    expected.set(data, 4096);
    assertBytes(await afp.read(-1), expected, "read(-1)");
    assertBytes(
      await afp.read(-1, 8192),
      expected.subarray(8192),
      "read(-1, 8192)",
    );
    assertBytes(await afp.read(4096, 12288), new Uint8Array(0), "read at EOF");

    const before = await Deno.readFile(path);
    const misaligned: [string, () => Promise<unknown>][] = [
      ["read(100, 0)", () => afp.read(100, 0)],
      ["read(4096, 100)", () => afp.read(4096, 100)],
      ["read(5000, 4096)", () => afp.read(5000, 4096)],
      ["write(100 bytes, 0)", () => afp.write(new Uint8Array(100).fill(1), 0)],
      [
        "write(100 bytes, 4096)",
        () => afp.write(new Uint8Array(100).fill(1), 4096),
      ],
      [
        "write(4096 bytes, 100)",
        () => afp.write(new Uint8Array(4096).fill(1), 100),
      ],
      [
        "write(4096 bytes, 12388)",
        () => afp.write(new Uint8Array(4096).fill(1), 12388),
      ],
    ];
    for (const [what, operation] of misaligned) {
      await assert.rejects(operation(), isDirectRangeError, what);
    }
    assertBytes(
      await Deno.readFile(path),
      before,
      "the file after misaligned requests",
    );
    assert.equal(await afp.size(), 12288);

    // A size that is not a multiple of the alignment: read(-1) still reads it all.
    await afp.truncate(10000);
    assertBytes(
      await afp.read(-1),
      expected.subarray(0, 10000),
      "read(-1) of 10000 bytes",
    );
    assertBytes(
      await afp.read(-1, 4096),
      expected.subarray(4096, 10000),
      "read(-1, 4096) of 10000 bytes",
    );
  },
  QUEUES,
);

backendTest(
  "O_DIRECT: many concurrent aligned writes and reads (completed through the eventfd) are all correct",
  async (context, dir, backend) => {
    const path = `${dir}/direct-many.bin`;
    await using afp = await AIOFile.open(path, "w+b", {
      context,
      direct: true,
    });
    assert.equal(afp.backend, backend);
    const blocks = 512;
    const data = pattern(blocks * 4096, 3);
    const block = (i: number) => data.subarray(i * 4096, (i + 1) * 4096);
    const written = await Promise.all(
      Array.from({ length: blocks }, (_, i) => afp.write(block(i), i * 4096)),
    );
    assert.deepEqual(written, Array(blocks).fill(4096));
    await afp.fsync();
    // Larger reads too: 16 KiB at every 4 KiB block that has room for one.
    const reads = await Promise.all([
      ...Array.from({ length: blocks }, (_, i) => afp.read(4096, i * 4096)),
      ...Array.from(
        { length: blocks - 3 },
        (_, i) => afp.read(16384, i * 4096),
      ),
    ]);
    for (let i = 0; i < blocks; i++) {
      assertBytes(reads[i], block(i), `read(4096, ${i * 4096})`);
    }
    for (let i = 0; i < blocks - 3; i++) {
      assertBytes(
        reads[blocks + i],
        data.subarray(i * 4096, i * 4096 + 16384),
        `read(16384, ${i * 4096})`,
      );
    }
    assertBytes(await Deno.readFile(path), data, "the file read back by Deno");
  },
  QUEUES,
);

// 4. Special files go to the next backend.

backendTest(
  "special files are served by another backend, directories are refused",
  async (context, dir, backend) => {
    {
      await using afp = await AIOFile.open("/proc/cpuinfo", "r", { context });
      assert.equal(afp.backend, "thread");
      assert.match(await afp.read(), /processor/);
    }
    {
      await using afp = await AIOFile.open("/proc/self/stat", "r", {
        context,
      });
      assert.notEqual(afp.backend, backend);
      assert.match(await afp.read(), /^\d+ /);
    }
    {
      await using afp = await AIOFile.open("/dev/zero", "rb", { context });
      assert.notEqual(afp.backend, backend);
      assertBytes(await afp.read(8192, 0), new Uint8Array(8192), "/dev/zero");
    }
    {
      const fifo = `${dir}/fifo`;
      const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
      // r+ opens O_RDWR, which never waits for a writer.
      const afp = await AIOFile.open(fifo, "r+b", { context });
      try {
        assert.notEqual(afp.backend, backend);
      } finally {
        await afp.close();
      }
    }
    for (const mode of ["r", "rb", "r+"]) {
      await assert.rejects(
        AIOFile.open(dir, mode, { context }),
        Deno.errors.IsADirectory,
        `mode ${mode}`,
      );
    }
  },
  QUEUES,
);

// 5. Backpressure: more requests than maxRequests, and than the backend's slots.

async function roundTrip(
  afp: AIOFile<"w+b">,
  blocks: number,
  seed: number,
): Promise<void> {
  const data = pattern(blocks * 4096, seed);
  const block = (i: number) => data.subarray(i * 4096, (i + 1) * 4096);
  const written = await Promise.all(
    Array.from({ length: blocks }, (_, i) => afp.write(block(i), i * 4096)),
  );
  assert.ok(written.every((n) => n === 4096), "a write was short");
  const reads = await Promise.all(
    Array.from({ length: blocks }, (_, i) => afp.read(4096, i * 4096)),
  );
  for (let i = 0; i < blocks; i++) {
    assertBytes(reads[i], block(i), `block ${i}`);
  }
  // Reads and writes at once, at distinct offsets.
  const again = pattern(blocks * 4096, seed + 1);
  const half = blocks >> 1;
  const mixed = await Promise.all(
    Array.from(
      { length: blocks },
      (_, i) =>
        i < half
          ? afp.read(4096, i * 4096)
          : afp.write(again.subarray(i * 4096, (i + 1) * 4096), i * 4096),
    ),
  );
  for (let i = 0; i < half; i++) {
    assertBytes(mixed[i] as Uint8Array, block(i), `block ${i}, mixed`);
  }
  const after = await afp.read(-1);
  assertBytes(
    after.subarray(0, half * 4096),
    data.subarray(0, half * 4096),
    "first half",
  );
  assertBytes(
    after.subarray(half * 4096),
    again.subarray(half * 4096),
    "second half, rewritten",
  );
}

backendTest(
  "maxRequests far below the requests in flight: 5000 reads and writes all complete",
  async (_context, dir, backend) => {
    await using context = createContext({ backend, maxRequests: 4 });
    await using afp = await AIOFile.open(`${dir}/small.bin`, "w+b", {
      context,
    });
    assert.equal(afp.backend, backend);
    await roundTrip(afp, 5000, 11);
  },
  QUEUES,
);

backendTest(
  `more requests in flight than the backend's ${SLOTS} slots all complete`,
  async (_context, dir, backend) => {
    await using context = createContext({
      backend,
      maxRequests: 1024,
    });
    assert.ok(1024 > SLOTS);
    {
      await using afp = await AIOFile.open(`${dir}/buffered.bin`, "w+b", {
        context,
      });
      assert.equal(afp.backend, backend);
      await roundTrip(afp, 3000, 21);
    }
    {
      // O_DIRECT requests stay in the kernel: the slots really run out.
      await using afp = await AIOFile.open(`${dir}/direct.bin`, "w+b", {
        context,
        direct: true,
      });
      assert.equal(afp.backend, backend);
      await roundTrip(afp, 2000, 31);
    }
  },
  QUEUES,
);

// 6. Closing.

backendTest(
  "context.close() with 500 reads in flight waits for them; nothing leaks",
  async (_context, dir, backend) => {
    const aioBefore = aioSnapshot();
    const ringsBefore = aioRings();
    const context = createContext({ backend });
    const data = pattern(2 * MiB, 41);
    const coldPath = `${dir}/cold.bin`;
    await writeCold(coldPath, data);
    const cold = await AIOFile.open(coldPath, "rb", { context });
    const direct = await AIOFile.open(`${dir}/direct.bin`, "w+b", {
      context,
      direct: true,
    });
    try {
      assert.equal(cold.backend, backend);
      assert.equal(direct.backend, backend);
      assert.equal(
        aioRings(),
        ringsBefore + (backend === "linux" ? 1 : 0),
        "not one AIO context",
      );
      await direct.write(data, 0);
      await direct.fsync();

      let settled = 0;
      const reads = Array.from({ length: 500 }, (_, i) => {
        const file = i % 2 === 0 ? cold : direct;
        const offset = (i * 4096) % data.length;
        return file.read(4096, offset).then((bytes) => {
          settled++;
          assertBytes(bytes, data.subarray(offset, offset + 4096), `read ${i}`);
        });
      });
      const closing = context.close().then(() => settled);
      assert.equal(context.closed, true);
      await Promise.all(reads);
      assert.equal(await closing, 500, "close() resolved before the reads");

      await assert.rejects(cold.read(4096, 0), Deno.errors.BadResource);
      await assert.rejects(
        direct.write(data.subarray(0, 4096), 0),
        Deno.errors.BadResource,
      );
      await assert.rejects(
        AIOFile.open(coldPath, "rb", { context }),
        Deno.errors.BadResource,
      );
      assert.equal(
        aioRings(),
        ringsBefore,
        "the AIO context was not destroyed",
      );
      await assertAioNrBack(aioBefore);
    } finally {
      await context.close();
      await cold.close();
      await direct.close();
    }
  },
  QUEUES,
);

backendTest(
  "50 contexts made, used and closed in a row leak no AIO context, ring or descriptor",
  async (_context, dir, backend) => {
    const path = `${dir}/file.bin`;
    await Deno.writeFile(path, pattern(8192, 51));
    const aioBefore = aioSnapshot();
    const ringsBefore = aioRings();
    const fdsBefore = openDescriptors();
    for (let i = 0; i < 50; i++) {
      const context = createContext({ backend });
      const afp = await AIOFile.open(path, "r+b", { context });
      assert.equal(afp.backend, backend);
      assert.equal(await afp.write(new Uint8Array([i]), 0), 1);
      assert.equal((await afp.read(1, 0))[0], i);
      assert.equal(
        aioRings(),
        ringsBefore + (backend === "linux" ? 1 : 0),
        `context ${i}: not one AIO context`,
      );
      await afp.close();
      await context.close();
    }
    assert.equal(aioRings(), ringsBefore, "AIO contexts leaked");
    await assertAioNrBack(aioBefore);
    assert.equal(openDescriptors(), fdsBefore, "descriptors leaked");
  },
  QUEUES,
);

// 7 and 8. Subprocesses.

/** Runs a fixture with every permission and the given environment. */
function run(
  fixture: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
): Promise<RunResult> {
  return runFixture(fixture, ["--allow-all"], { args, env });
}

const linuxReason = unavailableReason("linux");

function libaioReason(): string | undefined {
  if (linuxReason !== undefined) return linuxReason;
  const libaio = loadLibrary(libaioPaths(), LIBAIO_SYMBOLS);
  if (!libaio.ok) return `libaio.so.1 is not installed (${libaio.reason})`;
  libaio.library.close();
  return undefined;
}

for (
  const [via, env, reason] of [
    ["syscall", { AIOFILE_LIBAIO: "0" }, linuxReason],
    ["libaio", {}, libaioReason()],
  ] as const
) {
  Deno.test({
    name: `[linux] AIO ${
      via === "syscall"
        ? "through raw system calls (AIOFILE_LIBAIO=0)"
        : "through libaio (AIOFILE_LIBAIO unset)"
    } serves files` + (reason === undefined ? "" : ` (skipped: ${reason})`),
    ignore: reason !== undefined,
    async fn() {
      await withTempDir(async (dir) => {
        const result = await run("linux_via.ts", [dir], {
          AIOFILE_IMPL: "linux",
          ...env,
        });
        const out = report(result);
        assert.deepEqual(out, {
          via,
          raw: true,
          backend: "linux",
          defaultBackend: "linux",
          buffered: true,
          direct: true,
          directBackend: "linux",
        }, show(result));
      });
    },
  });
}

for (const backend of ["uring", "linux"] as const) {
  const reason = unavailableReason(backend);
  Deno.test({
    name:
      `[${backend}] a process that leaves reads in flight and files open exits by itself` +
      (reason === undefined ? "" : ` (skipped: ${reason})`),
    ignore: reason !== undefined,
    async fn() {
      await withTempDir(async (dir) => {
        await Deno.mkdir(`${dir}/shared`);
        const env = { AIOFILE_IMPL: backend };
        const [mine, shared] = await Promise.all([
          run("leave_reads.ts", [dir], env),
          run("leave_open.ts", [`${dir}/shared`], env),
        ]);
        const out = report(mine);
        assert.deepEqual(out.backends, Array(3).fill(backend), show(mine));
        assert.equal(out.started, 3 * 64, show(mine));
        const { backends } = report(shared);
        // Seven files through the default context (AIOFILE_IMPL), one through
        // an explicit context, which AIOFILE_IMPL does not affect.
        assert.deepEqual(
          backends,
          [...Array(7).fill(backend), availableBackends()[0]],
          show(shared),
        );
      });
    },
  });
}

/**
 * Checks that a backend whose queue cannot start refuses a file with
 * `CannotServe` (so the next backend gets it) before opening it: a file of mode
 * "x" is not created, so the next backend can still create it.
 */
async function assertHandsOn(backend: Backend, reason: RegExp): Promise<void> {
  await withTempDir(async (dir) => {
    await assert.rejects(
      backend.open({
        kind: "path",
        path: `${dir}/new.txt`,
        flags: {
          read: true,
          write: true,
          append: false,
          create: false,
          createNew: true,
          truncate: false,
          direct: false,
        },
      }),
      (error: Error) =>
        error instanceof CannotServe && reason.test(error.message),
    );
    await assert.rejects(Deno.stat(`${dir}/new.txt`), Deno.errors.NotFound);
  });
}

Deno.test({
  name:
    "[linux] io_setup failing (EAGAIN: aio-max-nr reached) hands every file on" +
    (unavailableReason("linux") === undefined
      ? ""
      : ` (skipped: ${unavailableReason("linux")})`),
  ignore: unavailableReason("linux") !== undefined,
  async fn() {
    const libc = loadLibc();
    if (!libc.ok) throw new Error(libc.reason);
    const { EAGAIN, EINVAL, ENOSYS, EPERM } = ERRNO;
    for (const errno of [EAGAIN, EINVAL, ENOSYS, EPERM]) {
      const refusing: AioCalls = {
        via: "syscall",
        setup: () => -errno,
        destroy: () => 0,
        submit: () => -ERRNO.EBADF,
        getEvents: () => 0,
      };
      const backend = new LinuxBackend(libc.library, refusing);
      await assertHandsOn(backend, /io_setup failed/);
      await backend.close();
    }
  },
});

Deno.test({
  name:
    "[uring] io_uring_setup failing (disabled, seccomp, old kernel) hands every file on" +
    (unavailableReason("uring") === undefined
      ? ""
      : ` (skipped: ${unavailableReason("uring")})`),
  ignore: unavailableReason("uring") !== undefined,
  async fn() {
    const libc = loadLibc();
    if (!libc.ok) throw new Error(libc.reason);
    for (const errno of [1, 38, 12]) { // EPERM, ENOSYS, ENOMEM
      const refusing: UringCalls = {
        setup: () => -errno,
        enter: () => -9,
        register: () => -9,
        map: () => -9,
        close: () => {},
      };
      const backend = new UringBackend(libc.library, refusing);
      await assertHandsOn(backend, /io_uring_setup failed/);
      await backend.close();
    }
  },
});

const QUEUE_PROVIDERS = { uring: uringProvider, linux: linuxProvider } as const;

backendTest(
  "closing the backend itself waits for the requests in the kernel, which settle with their data",
  async (_context, dir, backend) => {
    const data = pattern(64 * 4096, 61);
    const path = `${dir}/direct.bin`;
    await Deno.writeFile(path, data);
    const queue = QUEUE_PROVIDERS[backend as "uring" | "linux"].create();
    const file = await queue.open({
      kind: "path",
      path,
      // O_DIRECT completes through the eventfd, not inline.
      flags: readOnly(true),
    });
    const reads = Array.from({ length: 64 }, (_, i) => {
      const into = new Uint8Array(4096);
      return file.read(into, i * 4096).then((n) => ({ i, n, into }));
    });
    await queue.close(); // not awaited by the reads: closes with them in flight
    for (const { i, n, into } of await Promise.all(reads)) {
      assert.equal(n, 4096);
      assert.deepEqual(into, data.subarray(i * 4096, (i + 1) * 4096));
    }
    await assert.rejects(
      file.read(new Uint8Array(4096), 0),
      Deno.errors.BadResource,
    );
    await file.close();
  },
  QUEUES,
);

/** Records the size of each submission `queue` makes to the kernel. */
function recordBatches(queue: Backend): number[] {
  const batches: number[] = [];
  const observed = queue as unknown as {
    submitQueued(slots: readonly number[]): number;
  };
  const submitQueued = observed.submitQueued.bind(observed);
  observed.submitQueued = (slots) => {
    batches.push(slots.length);
    return submitQueued(slots);
  };
  return batches;
}

backendTest(
  `O_DIRECT requests go to the kernel every ${DIRECT_SUBMIT_EVERY}, other requests once per tick`,
  async (_context, dir, backend) => {
    const blocks = 2 * DIRECT_SUBMIT_EVERY;
    const data = pattern(blocks * 4096, 67);
    const path = `${dir}/batches.bin`;
    await Deno.writeFile(path, data);
    const queue = QUEUE_PROVIDERS[backend as "uring" | "linux"].create();
    const batches = recordBatches(queue);
    const direct = await queue.open({
      kind: "path",
      path,
      flags: readOnly(true),
    });
    const buffered = await queue.open({
      kind: "path",
      path,
      flags: readOnly(false),
    });
    const readAll = async (file: typeof direct) => {
      const reads = Array.from({ length: blocks }, (_, i) => {
        const into = new Uint8Array(4096);
        return file.read(into, i * 4096).then((n) => ({ i, n, into }));
      });
      for (const { i, n, into } of await Promise.all(reads)) {
        assert.equal(n, 4096);
        assertBytes(
          into,
          data.subarray(i * 4096, (i + 1) * 4096),
          `block ${i}`,
        );
      }
    };
    try {
      // A tick that has let completions resolve in microtasks for a while
      // waits for a macrotask instead, so on a slow moment the batches can
      // differ: a few attempts, each right after a completion woke the queue.
      let directBatches: number[] = [];
      for (let attempt = 0; attempt < 5; attempt++) {
        await direct.read(new Uint8Array(4096), 0);
        batches.length = 0;
        await readAll(direct);
        directBatches = [...batches];
        if (directBatches.length === 2) break;
      }
      assert.deepEqual(directBatches, [
        DIRECT_SUBMIT_EVERY,
        DIRECT_SUBMIT_EVERY,
      ]);

      batches.length = 0;
      await readAll(buffered);
      assert.deepEqual(batches, [blocks], "buffered reads: one submission");
    } finally {
      await direct.close();
      await buffered.close();
      await queue.close();
    }
  },
  QUEUES,
);

backendTest(
  `O_DIRECT requests wait for a macrotask rather than go early once completions have run in microtasks for ${YIELD_EVERY_MS} ms`,
  async (_context, dir, backend) => {
    const path = `${dir}/fair.bin`;
    await Deno.writeFile(path, pattern(DIRECT_SUBMIT_EVERY * 4096, 71));
    const queue = QUEUE_PROVIDERS[backend as "uring" | "linux"].create();
    const batches = recordBatches(queue);
    const file = await queue.open({
      kind: "path",
      path,
      flags: readOnly(true),
    });
    const cachedPath = `${dir}/cached.bin`;
    await Deno.writeFile(cachedPath, pattern(4096, 3));
    const cached = await queue.open({
      kind: "path",
      path: cachedPath,
      flags: readOnly(false),
    });
    try {
      // A loaded machine may serve the cached read below through a kernel
      // worker (a completion woken by a macrotask, which ends the streak):
      // the rule holds if one of a few attempts shows it.
      let early: number[] = [];
      for (let attempt = 0; attempt < 5; attempt++) {
        await file.read(new Uint8Array(4096), 0); // woken by a completion
        // A cached read completes during its submission: its caller goes on
        // in a microtask, the streak of microtasks it began still running.
        await cached.read(new Uint8Array(4096), 0);
        batches.length = 0;
        // Busy past the budget, as a long run of microtask completions would be.
        const start = performance.now();
        while (performance.now() - start < 2 * YIELD_EVERY_MS) {
          // spin
        }
        const reads = Array.from(
          { length: DIRECT_SUBMIT_EVERY },
          (_, i) => file.read(new Uint8Array(4096), i * 4096),
        );
        for (let i = 0; i < 10; i++) await Promise.resolve();
        early = [...batches];
        assert.deepEqual(await Promise.all(reads), reads.map(() => 4096));
        if (early.length > 0) continue;
        assert.deepEqual(batches, [DIRECT_SUBMIT_EVERY]);
        break;
      }
      assert.deepEqual(early, [], "submitted before a macrotask");
    } finally {
      await cached.close();
      await file.close();
      await queue.close();
    }
  },
  QUEUES,
);

Deno.test({
  name:
    `[uring] a batch refused by io_uring_enter fails its first request alone, which the kernel then never sees${
      unavailableReason("uring")
        ? ` (skipped: ${unavailableReason("uring")})`
        : ""
    }`,
  ignore: unavailableReason("uring") !== undefined,
  async fn() {
    const libc = loadLibc();
    assert.ok(libc.ok);
    const uring = loadUring(libc.library);
    assert.ok(uring.ok);
    let refuse = 0;
    const calls: UringCalls = {
      ...uring.calls,
      enter: (fd, toSubmit, minComplete, flags) =>
        toSubmit > 0 && refuse-- > 0
          ? -ERRNO.ENOMEM
          : uring.calls.enter(fd, toSubmit, minComplete, flags),
    };
    await withTempDir(async (dir) => {
      const data = pattern(4 * 4096, 73);
      const path = `${dir}/refused.bin`;
      await Deno.writeFile(path, data);
      const queue = new UringBackend(libc.library, calls);
      const file = await queue.open({
        kind: "path",
        path,
        flags: readOnly(true), // O_DIRECT: completions come through the eventfd
      });
      try {
        refuse = 1;
        const reads = Array.from({ length: 4 }, (_, i) => {
          const into = new Uint8Array(4096);
          return file.read(into, i * 4096).then((n) => ({ n, into }));
        });
        const [first, ...rest] = await Promise.allSettled(reads);
        assert.equal(first.status, "rejected");
        rest.forEach((outcome, i) => {
          assert.equal(outcome.status, "fulfilled");
          const { n, into } = (outcome as PromiseFulfilledResult<
            { n: number; into: Uint8Array }
          >).value;
          assert.equal(n, 4096);
          assert.deepEqual(into, data.subarray((i + 1) * 4096, (i + 2) * 4096));
        });
        // Nothing stray comes back in a slot used again.
        const again = new Uint8Array(4096);
        assert.equal(await file.read(again, 0), 4096);
        assert.deepEqual(again, data.subarray(0, 4096));
      } finally {
        await file.close();
        await queue.close(); // nothing is left in the kernel
      }
    });
  },
});
