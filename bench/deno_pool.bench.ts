/**
 * The design question of the `deno` backend: `Deno.FsFile` has no positional
 * read or write, so concurrent requests on one file either queue on one handle
 * (`handlesPerFile` 1) or spread over a small pool of handles on the same path.
 * This measures `new DenoBackend(n)` for n = 1, 2, 4, 8, calling the backend's
 * `BackendFile.read`/`write` directly (no `AIOFile`, no context), on random
 * 4 KiB-aligned offsets:
 *
 * - reads at QD1 (one per iteration, awaited) and QD32 (32 per iteration; the
 *   time shown is per batch of 32);
 * - writes at QD32 into a separate file, rewritten in 4 KiB writes before the
 *   benches so that every bench overwrites the same cached small pages (a file
 *   brought into the cache by reading it is held in large folios, which makes
 *   4 KiB writes several times slower).
 *
 * The read file is the one of `read.bench.ts` (`AIOFILE_BENCH_MIB`, default 256).
 *
 * ```sh
 * deno bench --allow-read --allow-write --allow-env bench/deno_pool.bench.ts
 * ```
 *
 * @module
 */

import type { BackendFile } from "../impl/backend.ts";
import { openFlags, parseMode } from "../src/mode.ts";
import { DEFAULT_HANDLES_PER_FILE, DenoBackend } from "../impl/deno.ts";
import {
  batch,
  benchBytes,
  benchFn,
  BLOCK,
  dataDir,
  ensureDataFile,
  expectBlock,
  Offsets,
  readFilePath,
  warm,
} from "./common.ts";

const QD = 32;
const POOL_SIZES = [1, 2, 4, 8] as const;

const bytes = benchBytes();
const readPath = readFilePath(bytes);
ensureDataFile(readPath, bytes);
const writePath = `${dataDir()}write-${bytes / 1048576}MiB.bin`;

// A fresh write file, filled in 4 KiB writes: small folios, all in the cache.
try {
  Deno.removeSync(writePath);
} catch (error) {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
{
  const block = new Uint8Array(BLOCK).fill(0x5a);
  using file = Deno.openSync(writePath, { write: true, createNew: true });
  for (let offset = 0; offset < bytes; offset += BLOCK) {
    expectBlock(file.writeSync(block), "writeSync");
  }
}

const readFlags = openFlags(parseMode("rb"), false);
const writeFlags = openFlags(parseMode("r+b"), false);

interface Pool {
  backend: DenoBackend;
  reader: BackendFile;
  writer: BackendFile;
}
const pools = new Map<number, Pool>();
for (const n of POOL_SIZES) {
  const backend = new DenoBackend(n);
  const reader = await backend.open({
    kind: "path",
    path: readPath,
    flags: readFlags,
  });
  const writer = await backend.open({
    kind: "path",
    path: writePath,
    flags: writeFlags,
  });
  pools.set(n, { backend, reader, writer });
}

let closed = false;
globalThis.addEventListener("beforeunload", async () => {
  if (closed) return;
  closed = true;
  for (const { backend, reader, writer } of pools.values()) {
    await reader.close();
    await writer.close();
    await backend.close();
  }
});

const offsets = new Offsets(bytes);
const readBuffers = Array.from({ length: QD }, () => new Uint8Array(BLOCK));
const writeBuffers = Array.from(
  { length: QD },
  (_, i) => new Uint8Array(BLOCK).fill(i),
);

const warmMs = warm(readPath);
console.error(
  `read file ${readPath}: ${bytes / 1048576} MiB, read fully in ${
    warmMs.toFixed(0)
  } ms right before the benches; write file ${writePath}`,
);

async function read(file: BackendFile, slot: number): Promise<void> {
  expectBlock(await file.read(readBuffers[slot], offsets.next()), "read");
}

async function write(file: BackendFile, slot: number): Promise<void> {
  expectBlock(await file.write(writeBuffers[slot], offsets.next()), "write");
}

function label(n: number): string {
  const what = n === 1 ? "1 handle (per-file queue)" : `pool of ${n} handles`;
  return n === DEFAULT_HANDLES_PER_FILE ? `${what} [current default]` : what;
}

const groups = [
  {
    group: "deno backend: read 4 KiB, QD1 (time per read)",
    run: (pool: Pool) => () => read(pool.reader, 0),
    warmPath: readPath,
  },
  {
    group: `deno backend: read 4 KiB, QD${QD} (time per batch of ${QD} reads)`,
    run: (pool: Pool) => () => batch(QD, (slot) => read(pool.reader, slot)),
    warmPath: readPath,
  },
  {
    group:
      `deno backend: write 4 KiB, QD${QD} (time per batch of ${QD} writes)`,
    run: (pool: Pool) => () => batch(QD, (slot) => write(pool.writer, slot)),
    warmPath: undefined,
  },
];

for (const { group, run, warmPath } of groups) {
  for (const n of POOL_SIZES) {
    Deno.bench({
      name: label(n),
      group,
      baseline: n === 1,
      fn: benchFn(warmPath, run(pools.get(n)!)),
    });
  }
}
