/**
 * The files the benchmark suite works on, in `bench/data/` (gitignored), made
 * once and kept between runs when their size is right.
 *
 * @module
 */

import type { Workload } from "./workloads.ts";
import {
  dataDir,
  ensureDataFile,
  ensureLinesFile,
  LINE,
  readFilePath,
} from "./common.ts";

/** Paths and sizes of the suite's files. */
export interface BenchFiles {
  /** Random data for the read workloads. */
  readonly read: string;
  readonly readBytes: number;
  /** Made afresh by each sequential-write measurement (`writeBytes` long). */
  readonly seqWrite: string;
  /** Rewritten in place by the random-write workload. */
  readonly randWrite: string;
  readonly writeBytes: number;
  /** 100-byte lines for the line-counting workload. */
  readonly lines: string;
  readonly linesBytes: number;
  readonly lineCount: number;
}

/** Sizes of the suite's files, in MiB. */
export interface FileSizes {
  readonly readMiB: number;
  readonly writeMiB: number;
  readonly linesMiB: number;
}

/** Makes (or finds) the suite's files. */
export function prepareFiles(sizes: FileSizes): BenchFiles {
  const MiB = 1024 * 1024;
  const readBytes = sizes.readMiB * MiB;
  const writeBytes = sizes.writeMiB * MiB;
  const linesBytes = sizes.linesMiB * MiB;
  const read = readFilePath(readBytes);
  ensureDataFile(read, readBytes);
  const randWrite = `${dataDir()}randwrite-${sizes.writeMiB}MiB.bin`;
  ensureDataFile(randWrite, writeBytes);
  return {
    read,
    readBytes,
    seqWrite: `${dataDir()}seqwrite.bin`,
    randWrite,
    writeBytes,
    lines: ensureLinesFile(linesBytes),
    linesBytes,
    lineCount: Math.ceil(linesBytes / LINE),
  };
}

/** The file a workload works on, and its size. */
export interface Target {
  readonly path: string;
  readonly bytes: number;
  /** Whether the workload writes it. */
  readonly writing: boolean;
  /** Whether each measurement starts from a fresh file (removed first). */
  readonly fresh: boolean;
}

/** The file `workload` works on. */
export function targetOf(workload: Workload, files: BenchFiles): Target {
  switch (workload.kind) {
    case "seqwrite":
      return {
        path: files.seqWrite,
        bytes: files.writeBytes,
        writing: true,
        fresh: true,
      };
    case "randwrite":
      return {
        path: files.randWrite,
        bytes: files.writeBytes,
        writing: true,
        fresh: false,
      };
    case "lines":
      return {
        path: files.lines,
        bytes: files.linesBytes,
        writing: false,
        fresh: false,
      };
    default:
      return {
        path: files.read,
        bytes: files.readBytes,
        writing: false,
        fresh: false,
      };
  }
}
