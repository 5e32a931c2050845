/**
 * Everyone the benchmark suite measures, in the order they run in each round:
 * this library on every backend available here (each in a Web Worker of its
 * own, see `aiofile_worker.ts`), `Deno.FsFile` (one handle, and
 * one handle per request), `node:fs` in this process, Node.js as a second
 * process, and fio with three engines. A participant that cannot take part in a
 * workload says why, and is reported as missing, never as zero.
 *
 * For the line-counting workload the `AIOFile` rows use `LineReader` in text
 * mode, and one more row uses it in binary mode (`Uint8Array` lines, each owning
 * its memory) on the first backend available; `Deno.FsFile` is `readable` +
 * `TextDecoderStream` + `split`, `node:fs` is `node:readline` over
 * `createReadStream`, and Node.js runs `node:readline` too.
 *
 * @module
 */

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { BACKEND_NAMES } from "../impl/backend.ts";
import { unavailableReason } from "../impl/providers.ts";
import {
  fioCannotRun,
  type FioEngine,
  measureFio,
  measureNode,
  versionOf,
} from "./external.ts";
import type { BenchFiles } from "./files.ts";
import { dataDir } from "./common.ts";
import {
  fsFileOpener,
  fsFilePerRequestOpener,
  measurePositional,
  nodeFsOpener,
  type OpenPositional,
} from "./positional.ts";
import type { Tally } from "./window.ts";
import type { WorkerReply, WorkerRequest } from "./aiofile_worker.ts";
import type { Workload } from "./workloads.ts";

/** One participant of the suite. */
export interface Participant {
  readonly name: string;
  /** `fsfile`: the reference for "vs FsFile"; `fio`: a candidate for "vs fio". */
  readonly role?: "fsfile" | "fio";
  /**
   * Why it cannot take part in `workload`, or `undefined`: `"missing: ..."` when
   * this machine lacks something, `"n/a: ..."` when it does not apply.
   */
  missing(workload: Workload): string | undefined;
  /** Measures `workload` once, for about `seconds` (fixed-size workloads take what they take). */
  measure(
    workload: Workload,
    files: BenchFiles,
    seconds: number,
  ): Promise<Tally>;
  /** Releases what it holds across measurements. */
  close?(): Promise<void>;
}

async function timedLines(
  files: BenchFiles,
  count: () => Promise<number>,
): Promise<Tally> {
  const started = performance.now();
  const lines = await count();
  const seconds = (performance.now() - started) / 1000;
  if (lines !== files.lineCount) {
    throw new Error(`counted ${lines} lines, expected ${files.lineCount}`);
  }
  return { ops: lines, bytes: files.linesBytes, seconds };
}

function inProcess(
  name: string,
  open: OpenPositional,
  countLines: ((files: BenchFiles) => Promise<number>) | undefined,
  refusesDirect: string | undefined,
  role?: "fsfile",
): Participant {
  return {
    name,
    role,
    missing: (workload) =>
      workload.direct
        ? refusesDirect
        : workload.kind === "lines" && countLines === undefined
        ? "n/a: the one-handle row counts the lines"
        : undefined,
    measure: (workload, files, seconds) =>
      workload.kind === "lines"
        ? timedLines(files, () => countLines!(files))
        : measurePositional(open, workload, files, seconds),
  };
}

/**
 * How an `AIOFile` participant works: `readInto` reads into reused buffers
 * (random reads only); `binaryLines` counts lines in binary mode (the
 * line-counting workload only).
 */
type AIOFileVariant = "plain" | "readInto" | "binaryLines";

const VARIANT_NAMES: Record<AIOFileVariant, string> = {
  plain: "AIOFile",
  readInto: "AIOFile.readInto",
  binaryLines: "AIOFile, binary lines",
};

/** `AIOFile` on `backend`, in a worker of its own, working as `variant` says. */
function aiofileParticipant(
  backend: (typeof BACKEND_NAMES)[number],
  variant: AIOFileVariant = "plain",
): Participant {
  const name = `${VARIANT_NAMES[variant]} [${backend}]`;
  const readInto = variant === "readInto";
  const binaryLines = variant === "binaryLines";
  const reason = unavailableReason(backend);
  if (reason !== undefined) {
    return {
      name,
      missing: () => `missing: backend unavailable: ${reason}`,
      measure: () => Promise.reject(new Error(reason)),
    };
  }
  const direct = backend === "uring" || backend === "linux";
  // Each backend in an isolate of its own (see bench/aiofile_worker.ts).
  let worker: Worker | undefined;
  /** Sends `request` to the worker; resolves to its answer. */
  const ask = (request: WorkerRequest): Promise<WorkerReply> => {
    const asked = worker ??= new Worker(
      new URL("./aiofile_worker.ts", import.meta.url),
      { type: "module" },
    );
    const reply = new Promise<WorkerReply>((resolve, reject) => {
      asked.onmessage = (event: MessageEvent<WorkerReply>) => {
        const answer = event.data;
        if ("error" in answer) reject(new Error(`${name}: ${answer.error}`));
        else resolve(answer);
      };
      asked.onerror = (event) => {
        event.preventDefault();
        // A worker that failed is not asked again: the next request starts one.
        asked.terminate();
        if (worker === asked) worker = undefined;
        reject(new Error(`${name}: ${event.message}`));
      };
    });
    asked.postMessage(request);
    return reply;
  };
  return {
    name,
    missing: (workload) =>
      binaryLines && workload.kind !== "lines"
        ? "n/a: the binary-lines row counts lines"
        : workload.direct && !direct
        ? `n/a: the ${backend} backend has no O_DIRECT`
        : readInto && workload.kind !== "randread"
        ? "n/a: the readInto rows measure random reads"
        : undefined,
    async measure(workload, files, seconds) {
      const reply = await ask({
        backend,
        workloadId: workload.id,
        files,
        seconds,
        readInto,
        binaryLines,
      });
      return (reply as { tally: Tally }).tally;
    },
    async close() {
      if (worker === undefined) return;
      await ask({ close: true });
      worker.terminate();
      worker = undefined;
    },
  };
}

async function fsFileLines(files: BenchFiles): Promise<number> {
  using file = await Deno.open(files.lines);
  let count = 0;
  let rest = "";
  for await (const text of file.readable.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    count += parts.length;
  }
  return rest === "" ? count : count + 1;
}

async function nodeReadlineLines(files: BenchFiles): Promise<number> {
  const lines = createInterface({
    input: createReadStream(files.lines),
    crlfDelay: Infinity,
  });
  let count = 0;
  for await (const _ of lines) count++;
  return count;
}

function fioParticipant(
  engine: FioEngine,
  version: string | undefined,
): Participant {
  return {
    name: `fio ${engine}${engine === "psync" ? " (QD1)" : ""}`,
    role: "fio",
    missing: (workload) =>
      version === undefined
        ? "missing: fio is not installed"
        : workload.kind === "lines"
        ? "n/a: fio does not count lines"
        : fioCannotRun(engine, workload.direct, dataDir()),
    measure: (workload, files, seconds) =>
      measureFio(engine, workload, files, seconds),
  };
}

/** Every participant, in the order they run; versions of the external programs too. */
export function participants(): {
  participants: Participant[];
  node: string | undefined;
  fio: string | undefined;
} {
  const node = versionOf("node");
  const fio = versionOf("fio");
  const noDirect = "n/a: no O_DIRECT option";
  return {
    node,
    fio,
    participants: [
      ...BACKEND_NAMES.map((backend) => aiofileParticipant(backend)),
      ...BACKEND_NAMES.map((backend) =>
        aiofileParticipant(backend, "readInto")
      ),
      // One backend is enough: counting lines costs the CPU, not the reads.
      ...BACKEND_NAMES.filter((backend) =>
        unavailableReason(backend) === undefined
      )
        .slice(0, 1).map((backend) =>
          aiofileParticipant(backend, "binaryLines")
        ),
      inProcess(
        "Deno.FsFile, one handle",
        fsFileOpener,
        fsFileLines,
        noDirect,
        "fsfile",
      ),
      inProcess(
        "Deno.FsFile, a handle per request in flight",
        fsFilePerRequestOpener,
        undefined,
        noDirect,
      ),
      inProcess(
        "node:fs FileHandle, in Deno",
        nodeFsOpener,
        nodeReadlineLines,
        "n/a: no aligned buffers without FFI",
      ),
      {
        name: "Node.js (second process)",
        missing: (workload) =>
          node === undefined
            ? "missing: node is not installed"
            : workload.direct
            ? "n/a: no aligned buffers in Node.js"
            : undefined,
        measure: measureNode,
      },
      ...(["io_uring", "libaio", "psync"] as const).map((engine) =>
        fioParticipant(engine, fio)
      ),
    ],
  };
}
