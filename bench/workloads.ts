/**
 * The workloads of the benchmark suite (`bench/run.ts`): what is measured, with
 * which request size and queue depth, against the page cache or the device.
 *
 * @module
 */

/** The kinds of work, each driven the same way for every participant. */
export type WorkloadKind =
  | "randread"
  | "seqread"
  | "seqwrite"
  | "randwrite"
  | "lines";

/** One workload. */
export interface Workload {
  /** A short stable name, for `--only` and the results file. */
  readonly id: string;
  /** What it is, for people. */
  readonly title: string;
  readonly kind: WorkloadKind;
  /** The size of each request in bytes. */
  readonly block: number;
  /** The requests kept in flight by participants that can have more than one. */
  readonly depth: number;
  /** `O_DIRECT`: the device rather than the page cache. */
  readonly direct: boolean;
  /** What the figures count. */
  readonly unit: "IOPS" | "MiB/s";
}

/** Sequential reads and writes keep this many requests in flight (a read-ahead window). */
export const SEQUENTIAL_DEPTH = 4;

const KiB = 1024;

function randomRead(depth: number, direct: boolean): Workload {
  return {
    id: `${direct ? "direct-" : ""}randread-4k-qd${depth}`,
    title: `random 4 KiB reads, QD${depth}${direct ? ", O_DIRECT" : ""}`,
    kind: "randread",
    block: 4 * KiB,
    depth,
    direct,
    unit: "IOPS",
  };
}

function sequentialRead(block: number, direct: boolean): Workload {
  const size = block >= 1024 * KiB
    ? `${block / 1024 / KiB} MiB`
    : `${block / KiB} KiB`;
  return {
    id: `${direct ? "direct-" : ""}seqread-${
      size.replace(" ", "").toLowerCase()
    }`,
    title: `sequential ${size} reads${direct ? ", O_DIRECT" : ""}`,
    kind: "seqread",
    block,
    depth: SEQUENTIAL_DEPTH,
    direct,
    unit: "MiB/s",
  };
}

function sequentialWrite(direct: boolean): Workload {
  return {
    id: `${direct ? "direct-" : ""}seqwrite-64k-fsync`,
    title: `sequential 64 KiB writes, then fsync${direct ? ", O_DIRECT" : ""}`,
    kind: "seqwrite",
    block: 64 * KiB,
    depth: SEQUENTIAL_DEPTH,
    direct,
    unit: "MiB/s",
  };
}

function randomWrite(direct: boolean): Workload {
  return {
    id: `${direct ? "direct-" : ""}randwrite-4k-qd32`,
    title: `random 4 KiB writes, QD32${direct ? ", O_DIRECT" : ""}`,
    kind: "randwrite",
    block: 4 * KiB,
    depth: 32,
    direct,
    unit: "IOPS",
  };
}

/** Every workload, in the order they run and are reported. */
export const WORKLOADS: readonly Workload[] = [
  randomRead(1, false),
  randomRead(32, false),
  randomRead(128, false),
  sequentialRead(64 * KiB, false),
  sequentialRead(1024 * KiB, false),
  sequentialWrite(false),
  randomWrite(false),
  {
    id: "lines",
    title: "counting the lines of a text file",
    kind: "lines",
    block: 64 * KiB,
    depth: 1,
    direct: false,
    unit: "MiB/s",
  },
  randomRead(1, true),
  randomRead(32, true),
  randomRead(128, true),
  sequentialRead(1024 * KiB, true),
  sequentialWrite(true),
  randomWrite(true),
];
