/**
 * The file-like layer against its baselines, in one run: each round runs every
 * participant once, in turn (A B C, A B C, ...), so that drift on a noisy
 * machine hits all alike; the table gives medians with min-max and the ratio of
 * each median to its baseline's.
 *
 * - lines: `LineReader` over a text file of 100-byte lines, in text mode
 *   (strings) and in binary mode (`Uint8Array` lines, each owning its memory),
 *   against `Deno.FsFile.readable` + `TextDecoderStream` + splitting, and
 *   Node's `readline` (a second process, timing itself) when `node` is
 *   installed.
 * - chunks: `iterChunked(65536)` over a binary file, against a `Deno.FsFile`
 *   read loop with the same chunk size into one reused buffer (the baseline),
 *   and into a new buffer per chunk (chunks a caller may keep, as
 *   `iterChunked`'s are); and `readable` read by a BYOB reader into one reused
 *   64 KiB buffer, as the baseline reads.
 * - writes: `Writer` with 64 KiB chunks plus `fsync`, against
 *   `fio --rw=write --bs=64k --end_fsync=1` when fio is installed.
 *
 * Files are page-cached (read fully before each round).
 *
 * The last column counts this process's minor page faults during each run
 * (`bench/page_faults.ts`); blank for the participants that run in another
 * process. A run that maps tens of thousands of fresh pages is slow for that
 * reason alone: see docs/performance.md, "The file-like layer".
 *
 * ```sh
 * deno run --allow-all bench/layer.ts [rounds=5]
 * ```
 *
 * `AIOFILE_BENCH_MIB` sets the size of the chunk and write files (default 256)
 * and `AIOFILE_BENCH_LINES_MIB` the text file's (default 100).
 *
 * @module
 */

import { AIOFile, asyncOpen, LineReader, Writer } from "../mod.ts";
import {
  benchBytes,
  dataDir,
  ensureDataFile,
  ensureLinesFile,
  LINE,
  positiveIntFromEnv,
  readFilePath,
  warm,
} from "./common.ts";
import { versionOf } from "./external.ts";
import { minorFaults } from "./page_faults.ts";
import { spread } from "./results.ts";

const CHUNK = 65536;

interface Participant {
  readonly group: string;
  readonly name: string;
  readonly baseline?: boolean;
  /** Runs in another process, whose page faults this one does not see. */
  readonly external?: boolean;
  /** Runs once; resolves to the seconds it took, or undefined when it cannot run here. */
  run(): Promise<number | undefined>;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

const linesBytes = positiveIntFromEnv("AIOFILE_BENCH_LINES_MIB", 100) * 2 ** 20;
const linesPath = ensureLinesFile(linesBytes);
const expectedLines = Math.ceil(linesBytes / LINE);
const chunkBytes = benchBytes();
const chunkPath = readFilePath(chunkBytes);
ensureDataFile(chunkPath, chunkBytes);
const writePath = `${dataDir()}write.bin`;
const hasNode = versionOf("node") !== undefined;
const hasFio = versionOf("fio") !== undefined;

function checkCount(name: string, count: number, expected: number): void {
  if (count !== expected) {
    throw new Error(`${name}: ${count}, expected ${expected}`);
  }
}

const NODE_READLINE = `
const fs = require("node:fs"), readline = require("node:readline");
const started = process.hrtime.bigint();
const lines = readline.createInterface({ input: fs.createReadStream(process.argv[1]), crlfDelay: Infinity });
let count = 0;
lines.on("line", () => count++);
lines.on("close", () => console.log(JSON.stringify({ count, seconds: Number(process.hrtime.bigint() - started) / 1e9 })));
`;

const chunkPayload = new Uint8Array(CHUNK).fill(7);

const participants: Participant[] = [
  {
    group: "lines",
    name: "FsFile.readable + TextDecoderStream + split",
    baseline: true,
    run: () =>
      timed(async () => {
        using file = await Deno.open(linesPath);
        let count = 0;
        let rest = "";
        for await (
          const text of file.readable.pipeThrough(new TextDecoderStream())
        ) {
          const parts = (rest + text).split("\n");
          rest = parts.pop()!;
          count += parts.length;
        }
        if (rest !== "") count++;
        checkCount("split", count, expectedLines);
      }),
  },
  {
    group: "lines",
    name: "LineReader (text)",
    run: () =>
      timed(async () => {
        await using afp = await AIOFile.open(linesPath, "r");
        let count = 0;
        for await (const _ of new LineReader(afp)) count++;
        checkCount("LineReader", count, expectedLines);
      }),
  },
  {
    group: "lines",
    name: "LineReader (binary)",
    run: () =>
      timed(async () => {
        await using afp = await AIOFile.open(linesPath, "rb");
        let count = 0;
        for await (const _ of new LineReader(afp)) count++;
        checkCount("LineReader (binary)", count, expectedLines);
      }),
  },
  {
    group: "lines",
    name: "Node readline (node, second process)",
    external: true,
    async run() {
      if (!hasNode) return undefined;
      const { stdout, success } = await new Deno.Command("node", {
        args: ["-e", NODE_READLINE, linesPath],
        stderr: "inherit",
      }).output();
      if (!success) throw new Error("node failed");
      const { count, seconds } = JSON.parse(new TextDecoder().decode(stdout));
      checkCount("node", count, expectedLines);
      return seconds;
    },
  },
  {
    group: "chunks",
    name: "Deno.FsFile read loop, 64 KiB",
    baseline: true,
    run: () =>
      timed(async () => {
        using file = await Deno.open(chunkPath);
        const buffer = new Uint8Array(CHUNK);
        let total = 0;
        for (let n; (n = await file.read(buffer)) !== null;) total += n;
        checkCount("FsFile", total, chunkBytes);
      }),
  },
  {
    // Not the baseline: shown because it hands out what iterChunked does, a
    // chunk the caller may keep, which the loop above does not.
    group: "chunks",
    name: "Deno.FsFile read loop, 64 KiB, a new buffer per chunk",
    run: () =>
      timed(async () => {
        using file = await Deno.open(chunkPath);
        let total = 0;
        for (let n; (n = await file.read(new Uint8Array(CHUNK))) !== null;) {
          total += n;
        }
        checkCount("FsFile", total, chunkBytes);
      }),
  },
  {
    group: "chunks",
    name: "asyncOpen iterChunked(65536)",
    run: () =>
      timed(async () => {
        await using afp = await asyncOpen(chunkPath, "rb");
        let total = 0;
        for await (const chunk of afp.iterChunked(CHUNK)) total += chunk.length;
        checkCount("iterChunked", total, chunkBytes);
      }),
  },
  {
    // Not the target's subject: shown because it is the way to read into one
    // reused buffer, as the baseline does.
    group: "chunks",
    name: "asyncOpen readable, BYOB reader, one 64 KiB buffer",
    run: () =>
      timed(async () => {
        await using afp = await asyncOpen(chunkPath, "rb");
        const reader = afp.readable.getReader({ mode: "byob" });
        let buffer = new ArrayBuffer(CHUNK);
        let total = 0;
        for (;;) {
          const { value, done } = await reader.read(new Uint8Array(buffer));
          if (done) break;
          total += value.length;
          buffer = value.buffer;
        }
        checkCount("BYOB", total, chunkBytes);
      }),
  },
  {
    group: "writes",
    name: "fio --rw=write --bs=64k --end_fsync=1",
    baseline: true,
    external: true,
    async run() {
      if (!hasFio) return undefined;
      await Deno.remove(writePath).catch(() => {});
      const { stdout, success } = await new Deno.Command("fio", {
        args: [
          "--name=write",
          `--filename=${writePath}`,
          "--rw=write",
          "--bs=64k",
          `--size=${chunkBytes}`,
          "--end_fsync=1",
          "--output-format=json",
        ],
        stderr: "inherit",
      }).output();
      if (!success) throw new Error("fio failed");
      const job = JSON.parse(new TextDecoder().decode(stdout)).jobs[0];
      return job.job_runtime / 1000;
    },
  },
  {
    group: "writes",
    name: "Writer, 64 KiB chunks + fsync",
    async run() {
      await Deno.remove(writePath).catch(() => {});
      return timed(async () => {
        await using afp = await AIOFile.open(writePath, "wb");
        const writer = new Writer(afp);
        for (let done = 0; done < chunkBytes; done += CHUNK) {
          await writer.write(chunkPayload);
        }
        await afp.fsync();
      });
    },
  },
];

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 5);
  const times = new Map<Participant, number[]>();
  const faults = new Map<Participant, number[]>();
  const missing = new Set<Participant>();
  for (let round = 0; round <= rounds; round++) {
    warm(linesPath);
    warm(chunkPath);
    for (const participant of participants) {
      Deno.stderr.writeSync(new TextEncoder().encode(
        `\r${
          round === 0 ? "warm-up" : `round ${round}/${rounds}`
        }: ${participant.name}`.padEnd(78),
      ));
      const faultsBefore = minorFaults();
      const seconds = await participant.run();
      const faultsAfter = minorFaults();
      if (seconds === undefined) missing.add(participant);
      else if (round > 0) {
        times.set(participant, [...times.get(participant) ?? [], seconds]);
        if (faultsBefore !== undefined && faultsAfter !== undefined) {
          faults.set(participant, [
            ...faults.get(participant) ?? [],
            faultsAfter - faultsBefore,
          ]);
        }
      }
    }
  }
  await Deno.remove(writePath).catch(() => {});
  console.error("\r".padEnd(79));
  const mib = { lines: linesBytes, chunks: chunkBytes, writes: chunkBytes };
  console.log(
    `| group | participant | MiB/s median (min-max) | vs baseline | page faults per run, median (min-max) |`,
  );
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const participant of participants) {
    const group = participant.group as keyof typeof mib;
    if (missing.has(participant)) {
      console.log(
        `| ${group} | ${participant.name} | missing (not installed) | | |`,
      );
      continue;
    }
    const rate = (s: number) => mib[group] / 2 ** 20 / s;
    const seconds = times.get(participant)!;
    const base = participants.find((p) => p.group === group && p.baseline)!;
    const baseSeconds = times.get(base);
    const ratio = participant === base || baseSeconds === undefined
      ? ""
      : `${(spread(baseSeconds).median / spread(seconds).median).toFixed(2)}x`;
    const faulted = faults.get(participant);
    const faultSpread = faulted === undefined ? undefined : spread(faulted);
    const faultCell = participant.external || faultSpread === undefined
      ? ""
      : `${
        Math.round(faultSpread.median)
      } (${faultSpread.min}-${faultSpread.max})`;
    console.log(
      `| ${group} | ${participant.name} | ${
        rate(spread(seconds).median).toFixed(0)
      } (${rate(Math.max(...seconds)).toFixed(0)}-${
        rate(Math.min(...seconds)).toFixed(0)
      }) | ${ratio} | ${faultCell} |`,
    );
  }
}
