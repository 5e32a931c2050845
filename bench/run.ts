/**
 * The benchmark suite: every workload of `bench/workloads.ts` on every
 * participant of `bench/participants.ts`, side by side in one run, then a table
 * on the terminal and `bench/RESULTS.md`, `bench/results.svg` and
 * `bench/results.json`.
 *
 * ```sh
 * deno task bench                      # the full run (about 10 minutes)
 * deno task bench --rounds=5 --seconds=2 --only=randread
 * deno task bench --smoke              # seconds; writes nothing unless --out is given
 * deno task bench --render             # re-renders RESULTS.md and the chart from results.json
 * ```
 *
 * Options: `--rounds=N` (3), `--seconds=S` per measurement (1), `--read-mib`
 * (1024), `--write-mib` (256), `--lines-mib` (100), `--only=ID,...` (workload ids
 * or their beginnings), `--out=DIR` (`bench/`), `--smoke` (one round of
 * 0.05 s on small files, no warm-up round), `--render`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { warm } from "./common.ts";
import { type BenchFiles, prepareFiles } from "./files.ts";
import { participants as allParticipants } from "./participants.ts";
import { chart } from "./chart.ts";
import { markdown, soakSection, textTables } from "./report.ts";
import type { Machine, Results, Row, WorkloadResult } from "./results.ts";
import type { Tally } from "./window.ts";
import { type Workload, WORKLOADS } from "./workloads.ts";

interface Options {
  rounds: number;
  seconds: number;
  readMiB: number;
  writeMiB: number;
  linesMiB: number;
  only: string[];
  out: string | undefined;
  render: boolean;
  /** Run an unrecorded round first. */
  warmUp: boolean;
}

function positive(
  name: string,
  raw: string | undefined,
  fallback: number,
  integer = false,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `--${name} must be a positive ${integer ? "integer" : "number"}, got ${
        JSON.stringify(raw)
      }`,
    );
  }
  return value;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: "string" },
      seconds: { type: "string" },
      "read-mib": { type: "string" },
      "write-mib": { type: "string" },
      "lines-mib": { type: "string" },
      only: { type: "string" },
      out: { type: "string" },
      smoke: { type: "boolean" },
      render: { type: "boolean" },
    },
    strict: true,
  });
  const smoke = values.smoke ?? false;
  const here = decodeURIComponent(new URL(".", import.meta.url).pathname);
  return {
    rounds: positive("rounds", values.rounds, smoke ? 1 : 3, true),
    seconds: positive("seconds", values.seconds, smoke ? 0.05 : 1),
    readMiB: positive("read-mib", values["read-mib"], smoke ? 4 : 1024, true),
    writeMiB: positive("write-mib", values["write-mib"], smoke ? 4 : 256, true),
    linesMiB: positive("lines-mib", values["lines-mib"], smoke ? 1 : 100, true),
    only: values.only?.split(",").filter((s) => s !== "") ?? [],
    out: values.out ?? (smoke ? undefined : here),
    render: values.render ?? false,
    warmUp: !smoke,
  };
}

function fileSystemOf(path: string): string {
  try {
    const { stdout } = new Deno.Command("findmnt", {
      args: ["-n", "-o", "FSTYPE", "--target", path],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return new TextDecoder().decode(stdout).trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return info.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ??
      Deno.build.arch;
  } catch {
    return Deno.build.arch;
  }
}

function machine(
  files: BenchFiles,
  node: string | undefined,
  fio: string | undefined,
): Machine {
  return {
    date: new Date().toISOString(),
    cpu: cpuModel(),
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    kernel: Deno.osRelease(),
    fileSystem: fileSystemOf(files.read),
    deno: `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`,
    node,
    fio,
  };
}

/** Shows what runs now: rewritten in place on a terminal, a line per workload otherwise. */
class Progress {
  readonly #terminal = Deno.stderr.isTerminal();
  readonly #encoder = new TextEncoder();
  #lastLine = "";

  show(
    round: string,
    workload: Workload,
    participant: string,
    done: number,
    total: number,
  ): void {
    const line = `${round} ${workload.id}: ${participant} (${done}/${total})`;
    if (this.#terminal) {
      const width = Math.max(this.#lastLine.length, line.length);
      Deno.stderr.writeSync(this.#encoder.encode(`\r${line.padEnd(width)}`));
      this.#lastLine = line;
    } else if (!this.#lastLine.startsWith(`${round} ${workload.id}:`)) {
      console.error(`${round} ${workload.id}`);
      this.#lastLine = line;
    }
  }

  done(): void {
    if (this.#terminal && this.#lastLine !== "") {
      Deno.stderr.writeSync(
        this.#encoder.encode(`\r${" ".repeat(this.#lastLine.length)}\r`),
      );
    }
  }
}

function selected(only: string[]): Workload[] {
  if (only.length === 0) return [...WORKLOADS];
  const chosen = WORKLOADS.filter((w) => only.some((o) => w.id.startsWith(o)));
  if (chosen.length === 0) {
    throw new RangeError(
      `--only matched no workload; ids: ${
        WORKLOADS.map((w) => w.id).join(", ")
      }`,
    );
  }
  return chosen;
}

function valueOf(tally: Tally, workload: Workload): number {
  return workload.unit === "IOPS"
    ? tally.ops / tally.seconds
    : tally.bytes / 2 ** 20 / tally.seconds;
}

/** The participants' indexes in the order round `round` runs them. */
function rotated(count: number, round: number): number[] {
  return Array.from({ length: count }, (_, i) => (i + round) % count);
}

/**
 * Writes back what a random-write measurement left dirty (untimed), so that the
 * next participant does not start behind writeback it did not cause.
 */
function settleWrites(workload: Workload, files: BenchFiles): void {
  if (workload.kind !== "randwrite") return;
  using file = Deno.openSync(files.randWrite, { read: true });
  file.syncSync();
}

function warmFor(workload: Workload, files: BenchFiles): void {
  if (workload.direct) return;
  if (workload.kind === "randread" || workload.kind === "seqread") {
    warm(files.read);
  }
  if (workload.kind === "lines") warm(files.lines);
}

async function measureAll(options: Options): Promise<Results> {
  const workloads = selected(options.only);
  const files = prepareFiles(options);
  const { participants, node, fio } = allParticipants();
  const results: WorkloadResult[] = workloads.map((workload) => ({
    workload,
    rows: participants.map((p): Row => ({
      name: p.name,
      role: p.role,
      missing: p.missing(workload),
      values: [],
    })),
  }));
  const progress = new Progress();
  const total = results.reduce(
    (n, r) => n + r.rows.filter((row) => row.missing === undefined).length,
    0,
  ) * (options.rounds + (options.warmUp ? 1 : 0));
  let done = 0;
  try {
    for (let round = options.warmUp ? 0 : 1; round <= options.rounds; round++) {
      const label = round === 0
        ? "warm-up"
        : `round ${round}/${options.rounds}`;
      const seconds = round === 0
        ? Math.min(options.seconds, 0.2)
        : options.seconds;
      for (const result of results) {
        warmFor(result.workload, files);
        // A different participant goes first in each round.
        for (const i of rotated(participants.length, round)) {
          const participant = participants[i];
          const row = result.rows[i];
          if (row.missing !== undefined) continue;
          progress.show(
            label,
            result.workload,
            participant.name,
            ++done,
            total,
          );
          try {
            const tally = await participant.measure(
              result.workload,
              files,
              seconds,
            );
            if (round > 0) row.values.push(valueOf(tally, result.workload));
          } catch (error) {
            row.missing = `failed: ${
              error instanceof Error ? error.message : String(error)
            }`;
          }
          settleWrites(result.workload, files);
        }
      }
    }
  } finally {
    progress.done();
    for (const participant of participants) await participant.close?.();
    await Deno.remove(files.seqWrite).catch(() => {});
  }
  return {
    machine: machine(files, node, fio),
    options: {
      rounds: options.rounds,
      seconds: options.seconds,
      readMiB: options.readMiB,
      writeMiB: options.writeMiB,
      linesMiB: options.linesMiB,
    },
    workloads: results,
  };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function write(results: Results, out: string): Promise<void> {
  const dir = out.endsWith("/") ? out : `${out}/`;
  const existing = await readIfExists(`${dir}RESULTS.md`);
  await Deno.writeTextFile(
    `${dir}results.json`,
    JSON.stringify(results, null, 2) + "\n",
  );
  await Deno.writeTextFile(`${dir}results.svg`, chart(results));
  await Deno.writeTextFile(
    `${dir}RESULTS.md`,
    markdown(results, soakSection(existing)),
  );
  // In the project's format, so that `deno fmt --check` stays clean.
  const formatted = await new Deno.Command(Deno.execPath(), {
    args: [
      "fmt",
      "--quiet",
      `${dir}RESULTS.md`,
      `${dir}results.json`,
      `${dir}results.svg`,
    ],
    stdin: "null",
  }).output();
  if (!formatted.success) throw new Error("deno fmt failed on the results");
  console.error(
    `wrote ${dir}RESULTS.md, ${dir}results.svg and ${dir}results.json`,
  );
}

if (import.meta.main) {
  const options = parseOptions(Deno.args);
  let results: Results;
  if (options.render) {
    const from = `${options.out ?? "bench"}/results.json`;
    results = JSON.parse(await Deno.readTextFile(from));
  } else {
    results = await measureAll(options);
  }
  console.log(textTables(results));
  if (options.out !== undefined) await write(results, options.out);
  const failed = results.workloads.flatMap((r) =>
    r.rows.filter((row) => row.missing?.startsWith("failed:")).map((row) =>
      `${r.workload.id}: ${row.name} ${row.missing}`
    )
  );
  if (failed.length > 0) {
    console.error(
      `\n${failed.length} measurement(s) failed:\n${failed.join("\n")}`,
    );
    Deno.exit(1);
  }
}
