/**
 * The reference point for `read.bench.ts`: fio on the same workload (random 4 KiB
 * reads of the same page-cached file, `--invalidate=0` so fio does not drop it
 * from the cache) at QD1 (`psync`, and `io_uring`) and QD32 (`libaio` and
 * `io_uring`). Prints the IOPS of each job, so that ratios can be taken against
 * the `deno bench` figures. Prints "fio: not installed" and exits 0 when fio is
 * missing.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env --allow-run=fio bench/fio.ts
 * ```
 *
 * `AIOFILE_BENCH_MIB` sets the file size as for the benches (default 256);
 * `AIOFILE_FIO_SECONDS` the measured time of each job (default 5, after 1 s of
 * ramp-up). `--json` prints the results as JSON instead of a table.
 *
 * @module
 */

import {
  benchBytes,
  DEFAULT_MIB,
  ensureDataFile,
  positiveIntFromEnv,
  readFilePath,
  warm,
} from "./common.ts";

/** One fio job. */
interface Job {
  name: string;
  engine: "psync" | "libaio" | "io_uring";
  depth: number;
  /** O_DIRECT (the device), rather than the page cache. */
  direct?: boolean;
}

const JOBS: readonly Job[] = [
  { name: "fio psync QD1", engine: "psync", depth: 1 },
  { name: "fio io_uring QD1", engine: "io_uring", depth: 1 },
  { name: "fio libaio QD32", engine: "libaio", depth: 32 },
  { name: "fio io_uring QD32", engine: "io_uring", depth: 32 },
  {
    name: "fio libaio O_DIRECT QD32",
    engine: "libaio",
    depth: 32,
    direct: true,
  },
  {
    name: "fio io_uring O_DIRECT QD32",
    engine: "io_uring",
    depth: 32,
    direct: true,
  },
];

/** The result of one job: its IOPS, or why it failed. */
interface Result {
  name: string;
  iops?: number;
  error?: string;
}

function seconds(): number {
  return positiveIntFromEnv("AIOFILE_FIO_SECONDS", 5);
}

async function fioVersion(): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("fio", {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout).trim() : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function runJob(
  job: Job,
  path: string,
  bytes: number,
  runtime: number,
): Promise<Result> {
  warm(path); // the page cache forgets files idle for about a minute
  const { success, stdout, stderr } = await new Deno.Command("fio", {
    args: [
      "--name=randread",
      `--filename=${path}`,
      `--size=${bytes}`,
      "--rw=randread",
      "--bs=4k",
      `--ioengine=${job.engine}`,
      `--iodepth=${job.depth}`,
      `--direct=${job.direct ? 1 : 0}`,
      "--invalidate=0",
      "--norandommap",
      "--randrepeat=0",
      "--time_based",
      "--ramp_time=1",
      `--runtime=${runtime}`,
      "--output-format=json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (!success) {
    const why = new TextDecoder().decode(stderr).trim() || text.trim();
    return { name: job.name, error: why.split("\n")[0] || "fio failed" };
  }
  // fio may print notes before the JSON document.
  const report = JSON.parse(text.slice(text.indexOf("{")));
  const iops = Number(report.jobs?.[0]?.read?.iops);
  if (!Number.isFinite(iops)) {
    return { name: job.name, error: "no read IOPS in fio's report" };
  }
  return { name: job.name, iops };
}

async function main(): Promise<void> {
  const json = Deno.args.includes("--json");
  const version = await fioVersion();
  if (version === undefined) {
    console.log("fio: not installed");
    return;
  }
  const bytes = benchBytes();
  const path = readFilePath(bytes);
  ensureDataFile(path, bytes);
  const runtime = seconds();
  const results: Result[] = [];
  for (const job of JOBS) {
    results.push(await runJob(job, path, bytes, runtime));
  }
  if (json) {
    console.log(JSON.stringify({ version, path, bytes, runtime, results }));
    return;
  }
  console.log(
    `${version}, random 4 KiB reads of ${path} (${bytes / 1048576} MiB${
      bytes === DEFAULT_MIB * 1048576 ? "" : ", not the default size"
    }), page-cached, ${runtime} s per job`,
  );
  const width = Math.max(...results.map((r) => r.name.length));
  for (const { name, iops, error } of results) {
    const figure = iops === undefined
      ? `failed: ${error}`
      : `${Math.round(iops).toLocaleString("en-US")} IOPS`;
    console.log(`${name.padEnd(width)}  ${figure}`);
  }
}

await main();
