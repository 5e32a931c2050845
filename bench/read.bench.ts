/**
 * `AIOFile.read(4096, randomOffset)` on a page-cached file, per backend, beside
 * `Deno.FsFile` and `node:fs/promises`, at queue depth 1 and 32, and at QD32
 * with a signal that never fires against none (the cost of cancellation).
 *
 * - QD1: one read per iteration, awaited. IOPS = 1 s / (time/iter).
 * - QD32: 32 reads started together per iteration, then awaited; the time shown is
 *   per batch of 32, so IOPS = 32 s / (time/iter) and the time per read is a
 *   32nd of it. The batches drain the queue between iterations, so this is a
 *   latency probe: `bench/run.ts` (`deno task bench`) keeps the queue full, as
 *   fio does, and compares against fio in the same run.
 *
 * The data file is `bench/data/read-<N>MiB.bin` (gitignored), `AIOFILE_BENCH_MIB`
 * MiB (default 256; `AIOFILE_BENCH_MIB=1` for a quick smoke run). It is read fully
 * right before the benches, and again at the first (unmeasured warmup) call of a
 * bench if the last full read is older than 20 s, because idle page cache is
 * evicted after about a minute on the machines this is measured on.
 *
 * ```sh
 * deno bench --allow-read --allow-write --allow-ffi --allow-env --allow-run bench/read.bench.ts
 * ```
 *
 * @module
 */

import { open as nodeOpen } from "node:fs/promises";
import { AIOFile, createContext } from "../mod.ts";
import type { Context } from "../mod.ts";
import { BACKEND_NAMES, type BackendName } from "../impl/backend.ts";
import { unavailableReason } from "../impl/providers.ts";
import { loadLibc } from "../ffi/libc.ts";
import { openSync as nodeOpenSync } from "node:fs";
import {
  batch,
  benchBytes,
  benchFn,
  BLOCK,
  ensureDataFile,
  expectBlock,
  Offsets,
  readFilePath,
  warm,
} from "./common.ts";

const QD = 32;
const bytes = benchBytes();
const path = readFilePath(bytes);
ensureDataFile(path, bytes);

// Everything is opened once, here, outside the measured functions.
const single = await Deno.open(path, { read: true });
const perRequest: Deno.FsFile[] = [];
for (let i = 0; i < QD; i++) perRequest.push(await Deno.open(path));
const nodeHandle = await nodeOpen(path, "r");
const buffers = Array.from({ length: QD }, () => new Uint8Array(BLOCK));

interface Opened {
  context: Context;
  file: AIOFile<"rb">;
}
const aio = new Map<BackendName, Opened>();
const skipped = new Map<BackendName, string>();
for (const backend of BACKEND_NAMES) {
  const reason = unavailableReason(backend);
  if (reason !== undefined) {
    skipped.set(backend, reason);
    continue;
  }
  const context = createContext({ backend });
  const file = await AIOFile.open(path, "rb", { context });
  if (file.backend !== backend) {
    throw new Error(`${backend} handed the file to ${file.backend}`);
  }
  aio.set(backend, { context, file });
}
for (const [backend, reason] of skipped) {
  console.error(`AIOFile [${backend}] skipped: ${reason}`);
}

const directFiles: AIOFile<"rb">[] = [];
let closed = false;
globalThis.addEventListener("beforeunload", async () => {
  if (closed) return;
  closed = true;
  single.close();
  for (const file of perRequest) file.close();
  await nodeHandle.close();
  for (const file of directFiles) await file.close();
  for (const { context, file } of aio.values()) {
    await file.close();
    await context.close();
  }
});

const offsets = new Offsets(bytes);
const warmMs = warm(path);
console.error(
  `data file ${path}: ${bytes / 1048576} MiB, read fully in ${
    warmMs.toFixed(0)
  } ms right before the benches`,
);

async function fsFileRead(file: Deno.FsFile, slot: number): Promise<void> {
  file.seekSync(offsets.next(), Deno.SeekMode.Start);
  expectBlock(await file.read(buffers[slot]), "Deno.FsFile.read");
}

async function nodeRead(slot: number): Promise<void> {
  const { bytesRead } = await nodeHandle.read(
    buffers[slot],
    0,
    BLOCK,
    offsets.next(),
  );
  expectBlock(bytesRead, "FileHandle.read");
}

async function aioRead(file: AIOFile<"rb">): Promise<void> {
  expectBlock((await file.read(BLOCK, offsets.next())).length, "AIOFile.read");
}

function aioBenches(group: string, depth: number): void {
  for (const backend of BACKEND_NAMES) {
    const opened = aio.get(backend);
    const name = `AIOFile.read [${backend}]`;
    if (opened === undefined) {
      Deno.bench({
        name: `${name} (skipped: ${skipped.get(backend)})`,
        group,
        ignore: true,
        fn() {},
      });
      continue;
    }
    const { file } = opened;
    Deno.bench({
      name,
      group,
      fn: benchFn(
        path,
        depth === 1
          ? () => aioRead(file)
          : () => batch(depth, () => aioRead(file)),
      ),
    });
  }
}

// The reference for latency: a synchronous pread(2) through FFI, which blocks
// the event loop (what no asynchronous path can beat, and none should do).
const libc = loadLibc();
const preadFd = libc.ok ? nodeOpenSync(path, "r") : -1;

const qd1 = "read 4 KiB, QD1 (time per read)";
if (libc.ok) {
  const { pread_now } = libc.library.symbols;
  Deno.bench({
    name: "pread(2), synchronous FFI (blocks the event loop)",
    group: qd1,
    fn: benchFn(path, () => {
      const n = pread_now(
        preadFd,
        buffers[0],
        BigInt(BLOCK),
        BigInt(offsets.next()),
      );
      expectBlock(Number(n), "pread");
      return Promise.resolve();
    }),
  });
}
Deno.bench({
  name: "Deno.FsFile seek+read, one handle",
  group: qd1,
  baseline: true,
  fn: benchFn(path, () => fsFileRead(single, 0)),
});
Deno.bench({
  name: "node:fs/promises FileHandle.read(position)",
  group: qd1,
  fn: benchFn(path, () => nodeRead(0)),
});
aioBenches(qd1, 1);

const qd32 = `read 4 KiB, QD${QD} (time per batch of ${QD} reads)`;
Deno.bench({
  name: "Deno.FsFile seek+read, one handle per request",
  group: qd32,
  baseline: true,
  fn: benchFn(
    path,
    () => batch(QD, (slot) => fsFileRead(perRequest[slot], slot)),
  ),
});
Deno.bench({
  name: "node:fs/promises FileHandle.read(position), one handle",
  group: qd32,
  fn: benchFn(path, () => batch(QD, nodeRead)),
});
aioBenches(qd32, QD);

// The cost of cancellation support: the same QD32 batches with a signal that
// never fires, against none, per backend (one group each, so that deno bench
// prints the ratio). Target: within 3 %.
const quiet = new AbortController().signal;
for (const [backend, { file }] of aio) {
  const group =
    `read 4 KiB, QD${QD}, AIOFile [${backend}]: a signal that never fires`;
  Deno.bench({
    name: `AIOFile.read [${backend}], no signal`,
    group,
    baseline: true,
    fn: benchFn(path, () => batch(QD, () => aioRead(file))),
  });
  Deno.bench({
    name: `AIOFile.read [${backend}], { signal }`,
    group,
    fn: benchFn(path, () =>
      batch(QD, async () => {
        const n = (await file.read(BLOCK, offsets.next(), { signal: quiet }))
          .length;
        expectBlock(n, "AIOFile.read");
      })),
  });
}

// O_DIRECT: the device, not the page cache (the kernel-queue backends only).
const qd32Direct =
  `read 4 KiB O_DIRECT, QD${QD} (time per batch of ${QD} reads)`;
for (const backend of ["uring", "linux"] as const) {
  const opened = aio.get(backend);
  if (opened === undefined) continue;
  const file = await AIOFile.open(path, "rb", {
    context: opened.context,
    direct: true,
  });
  directFiles.push(file);
  Deno.bench({
    name: `AIOFile.read [${backend}] O_DIRECT`,
    group: qd32Direct,
    fn: benchFn(undefined, () => batch(QD, () => aioRead(file))),
  });
}
