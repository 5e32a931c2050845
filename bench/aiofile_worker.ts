/**
 * Measures `AIOFile` on one backend, inside a Web Worker of its own.
 *
 * The suite runs each backend in its own isolate, as an application runs one
 * backend: `uring` and `linux` share the ring machinery (`impl/ring/`), and in
 * one isolate V8 optimizes that code for both, which cost `uring` a quarter of
 * its random-read IOPS when the two were measured in turn in one process.
 *
 * Messages in: `{ backend, workloadId, files, seconds, readInto?, binaryLines? }`
 * to measure, `{ close: true }` to close the context. Messages out: `{ tally }`,
 * `{ closed: true }` or `{ error }` (a string).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { AIOFile, type Context, createContext, LineReader } from "../mod.ts";
import type { BackendName } from "../impl/backend.ts";
import type { BenchFiles } from "./files.ts";
import { aiofileOpener, measurePositional } from "./positional.ts";
import type { Tally } from "./window.ts";
import { WORKLOADS } from "./workloads.ts";

/** What the suite asks of the worker. */
export type WorkerRequest =
  | {
    readonly backend: BackendName;
    readonly workloadId: string;
    readonly files: BenchFiles;
    readonly seconds: number;
    /** Reads with `readInto` into reused buffers rather than `read`. */
    readonly readInto?: boolean;
    /** Counts lines in binary mode (`Uint8Array` lines) rather than text. */
    readonly binaryLines?: boolean;
  }
  | { readonly close: true };

/** What the worker answers. */
export type WorkerReply =
  | { readonly tally: Tally }
  | { readonly closed: true }
  | { readonly error: string };

let context: Context | undefined;

async function measure(
  backend: BackendName,
  workloadId: string,
  files: BenchFiles,
  seconds: number,
  readInto: boolean,
  binaryLines: boolean,
): Promise<Tally> {
  const workload = WORKLOADS.find((w) => w.id === workloadId);
  if (workload === undefined) throw new Error(`no workload ${workloadId}`);
  context ??= createContext({ backend });
  if (workload.kind !== "lines") {
    return await measurePositional(
      aiofileOpener(context, readInto),
      workload,
      files,
      seconds,
    );
  }
  const started = performance.now();
  let count = 0;
  {
    await using afp = await AIOFile.open(
      files.lines,
      binaryLines ? "rb" : "r",
      { context },
    );
    for await (const _ of new LineReader(afp)) count++;
  }
  if (count !== files.lineCount) {
    throw new Error(`counted ${count} lines, expected ${files.lineCount}`);
  }
  return {
    ops: count,
    bytes: files.linesBytes,
    seconds: (performance.now() - started) / 1000,
  };
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  let reply: WorkerReply;
  try {
    if ("close" in request) {
      await context?.close();
      context = undefined;
      reply = { closed: true };
    } else {
      const { backend, workloadId, files, seconds } = request;
      reply = {
        tally: await measure(
          backend,
          workloadId,
          files,
          seconds,
          request.readInto ?? false,
          request.binaryLines ?? false,
        ),
      };
    }
  } catch (error) {
    reply = {
      error: error instanceof Error
        ? error.stack ?? error.message
        : String(error),
    };
  }
  self.postMessage(reply);
};
