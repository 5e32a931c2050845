/**
 * The cost of passing a signal that never fires: random 4 KiB reads of a
 * page-cached file at QD32, per backend, in batches, alternating rounds
 * without and with `{ signal }` (drift on a shared machine hits both alike).
 * Prints the median time per batch of each and their ratio.
 *
 * ```sh
 * deno run --allow-all bench/signal_cost.ts [rounds=15]
 * ```
 *
 * The data file is `bench/data/read-<N>MiB.bin`, `AIOFILE_BENCH_MIB` MiB (default
 * 256), as for `bench/read.bench.ts`.
 *
 * @module
 */

import { AIOFile, createContext } from "../mod.ts";
import { BACKEND_NAMES } from "../impl/backend.ts";
import { unavailableReason } from "../impl/providers.ts";
import {
  benchBytes,
  BLOCK,
  ensureDataFile,
  Offsets,
  readFilePath,
  warm,
} from "./common.ts";

const QD = 32;
const BATCHES = 100;
const rounds = Number(Deno.args[0] ?? 15);
const bytes = benchBytes();
const path = readFilePath(bytes);
ensureDataFile(path, bytes);
warm(path);

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

console.log("| backend | no signal, µs per batch | { signal } | ratio |");
console.log("| --- | --- | --- | --- |");
for (const backend of BACKEND_NAMES) {
  const reason = unavailableReason(backend);
  if (reason !== undefined) {
    console.log(`| ${backend} | skipped: ${reason} | | |`);
    continue;
  }
  await using context = createContext({ backend });
  await using afp = await AIOFile.open(path, "rb", { context });
  const offsets = new Offsets(bytes);
  const options = { signal: new AbortController().signal };
  const run = async (withSignal: boolean): Promise<number> => {
    const start = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      const batch = new Array<Promise<Uint8Array>>(QD);
      for (let i = 0; i < QD; i++) {
        batch[i] = withSignal
          ? afp.read(BLOCK, offsets.next(), options)
          : afp.read(BLOCK, offsets.next());
      }
      await Promise.all(batch);
    }
    return (performance.now() - start) * 1000 / BATCHES;
  };
  await run(false); // warm-up
  await run(true);
  const without: number[] = [];
  const withSignal: number[] = [];
  for (let r = 0; r < rounds; r++) {
    without.push(await run(false));
    withSignal.push(await run(true));
  }
  const a = median(without);
  const b = median(withSignal);
  console.log(
    `| ${backend} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${
      (b / a).toFixed(3)
    } |`,
  );
}
