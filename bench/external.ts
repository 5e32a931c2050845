/**
 * The participants that run as other processes: fio (the machine's limit, with
 * the `io_uring`, `libaio` and `psync` engines) and Node.js. Each times only its
 * own work, as the in-process participants do.
 *
 * @module
 */

import { type BenchFiles, targetOf } from "./files.ts";
import type { Tally } from "./window.ts";
import type { Workload } from "./workloads.ts";

/** The first line `command --version` prints, or `undefined` when it is not installed. */
export function versionOf(command: string): string | undefined {
  try {
    const { success, stdout } = new Deno.Command(command, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const text = new TextDecoder().decode(stdout).trim().split("\n")[0];
    return success ? text : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function run(command: string, args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (!success) {
    const why = new TextDecoder().decode(stderr).trim() || text.trim();
    throw new Error(
      `${command} failed: ${why.split("\n").slice(-3).join(" ")}`,
    );
  }
  return text;
}

/** The fio engines the suite runs. */
export type FioEngine = "io_uring" | "libaio" | "psync";

const FIO_RW = {
  randread: "randread",
  seqread: "read",
  seqwrite: "write",
  randwrite: "randwrite",
} as const;

const probed = new Map<string, string | undefined>();

/**
 * Why fio's `engine` cannot run here (seccomp or `kernel.io_uring_disabled` for
 * io_uring, a file system without `O_DIRECT`), or `undefined`: a tiny job on a
 * file in `dir`, tried once per engine and `direct`.
 */
export function fioCannotRun(
  engine: FioEngine,
  direct: boolean,
  dir: string,
): string | undefined {
  const key = `${engine} ${direct}`;
  if (probed.has(key)) return probed.get(key);
  const path = `${dir}fio-probe.bin`;
  const { success, stdout, stderr } = new Deno.Command("fio", {
    args: [
      "--name=probe",
      `--filename=${path}`,
      "--size=64k",
      "--rw=read",
      "--bs=4k",
      `--ioengine=${engine}`,
      `--direct=${direct ? 1 : 0}`,
      "--output-format=json",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  try {
    Deno.removeSync(path);
  } catch {
    // fio failed before making it.
  }
  const why = new TextDecoder().decode(stderr).trim() ||
    new TextDecoder().decode(stdout).trim();
  const reason = success
    ? undefined
    : `missing: fio ${engine}${direct ? " with O_DIRECT" : ""} fails here: ${
      why.split("\n")[0] || "no reason given"
    }`;
  probed.set(key, reason);
  return reason;
}

/** Runs one fio job shaped like `workload`; `psync` runs at depth 1, as it must. */
export async function measureFio(
  engine: FioEngine,
  workload: Workload,
  files: BenchFiles,
  seconds: number,
): Promise<Tally> {
  if (workload.kind === "lines") throw new Error("fio does not count lines");
  const { path, bytes, writing, fresh } = targetOf(workload, files);
  if (fresh) await Deno.remove(path).catch(() => {});
  const timed = workload.kind === "seqwrite" ? ["--end_fsync=1"] : [
    "--time_based",
    `--runtime=${Math.max(1, Math.round(seconds * 1000))}ms`,
  ];
  const text = await run("fio", [
    "--name=bench",
    `--filename=${path}`,
    `--size=${bytes}`,
    `--rw=${FIO_RW[workload.kind]}`,
    `--bs=${workload.block}`,
    `--ioengine=${engine}`,
    `--iodepth=${engine === "psync" ? 1 : workload.depth}`,
    `--direct=${workload.direct ? 1 : 0}`,
    "--invalidate=0",
    // Others grow the file as they write: fio must not allocate it beforehand.
    "--fallocate=none",
    "--norandommap",
    "--randrepeat=0",
    ...timed,
    "--output-format=json",
  ]);
  // fio may print notes before its JSON document.
  const job = JSON.parse(text.slice(text.indexOf("{"))).jobs[0];
  const side = writing ? job.write : job.read;
  const moved = Number(side.io_bytes);
  // job_runtime (ms) includes --end_fsync.
  const elapsed = Number(job.job_runtime) / 1000;
  if (!(moved > 0 && elapsed > 0)) {
    throw new Error(`fio reported no ${writing ? "writes" : "reads"}`);
  }
  return { ops: Number(side.total_ios), bytes: moved, seconds: elapsed };
}

/** Runs `bench/node_participant.mjs` with `node` for `workload`. */
export async function measureNode(
  workload: Workload,
  files: BenchFiles,
  seconds: number,
): Promise<Tally> {
  const target = targetOf(workload, files);
  const job = {
    kind: workload.kind,
    block: workload.block,
    depth: workload.depth,
    seconds,
    path: target.path,
    fileBytes: target.bytes,
    lineCount: files.lineCount,
  };
  const script = decodeURIComponent(
    new URL("./node_participant.mjs", import.meta.url).pathname,
  );
  return JSON.parse(await run("node", [script, JSON.stringify(job)]));
}
