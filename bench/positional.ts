/**
 * The in-process participants that do positional I/O (`AIOFile`, `Deno.FsFile`,
 * `node:fs`) behind one small interface, and the one function that drives any of
 * them through a workload, so that every participant is measured by the same
 * code.
 *
 * @module
 */

import { open as nodeOpen } from "node:fs/promises";
import { AIOFile, type Context } from "../mod.ts";
import { Offsets } from "./common.ts";
import { type BenchFiles, targetOf } from "./files.ts";
import {
  forCount,
  forSeconds,
  type Moved,
  SequentialOffsets,
  type Tally,
} from "./window.ts";
import type { Workload } from "./workloads.ts";

/** A file open for one measurement. */
export interface Positional {
  /** The most requests it can have in flight (1 for a handle with a file pointer). */
  readonly maxDepth: number;
  /** Reads `length` bytes at `offset` for window slot `slot`; resolves to the bytes read or their count. */
  read(slot: number, offset: number, length: number): Promise<Moved>;
  /** Writes `data` at `offset` for window slot `slot`; resolves to the bytes written. */
  write(slot: number, offset: number, data: Uint8Array): Promise<number>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** How a participant opens a file for a measurement. */
export interface OpenOptions {
  readonly write: boolean;
  /** Create or truncate it (the sequential-write workload's fresh file). */
  readonly truncate: boolean;
  readonly direct: boolean;
  /** The window slots the measurement will use. */
  readonly depth: number;
  /** The size of each request. */
  readonly block: number;
}

/** Opens a file for a participant. */
export type OpenPositional = (
  path: string,
  options: OpenOptions,
) => Promise<Positional>;

/** Runs `workload` (any kind but `lines`) on files opened by `open`. */
export async function measurePositional(
  open: OpenPositional,
  workload: Workload,
  files: BenchFiles,
  seconds: number,
): Promise<Tally> {
  const { kind, block, direct } = workload;
  const { path, writing, fresh } = targetOf(workload, files);
  if (fresh) await Deno.remove(path).catch(() => {});
  const file = await open(path, {
    write: writing,
    truncate: fresh,
    direct,
    depth: workload.depth,
    block,
  });
  const depth = Math.min(workload.depth, file.maxDepth);
  try {
    switch (kind) {
      case "randread":
      case "seqread": {
        const offsets = kind === "randread"
          ? new Offsets(files.readBytes)
          : new SequentialOffsets(files.readBytes, block);
        return await forSeconds(
          depth,
          seconds,
          block,
          (slot) => file.read(slot, offsets.next(), block),
        );
      }
      case "seqwrite": {
        const payload = new Uint8Array(block).fill(0x5a);
        return await forCount(
          depth,
          Math.floor(files.writeBytes / block),
          block,
          (slot, index) => file.write(slot, index * block, payload),
          () => file.sync(),
        );
      }
      case "randwrite": {
        const offsets = new Offsets(files.writeBytes);
        const payload = new Uint8Array(block).fill(0xa5);
        return await forSeconds(
          depth,
          seconds,
          block,
          (slot) => file.write(slot, offsets.next(), payload),
        );
      }
      default:
        throw new Error(`${kind} is not positional I/O`);
    }
  } finally {
    await file.close();
  }
}

/**
 * `AIOFile` through `context`: `read(length, offset)` (a new buffer per read)
 * or, with `readInto`, `readInto(buffer, offset)` into one buffer per window
 * slot; `write(data, offset)`.
 */
export function aiofileOpener(
  context: Context,
  readInto = false,
): OpenPositional {
  return async (path, { write, truncate, direct, depth, block }) => {
    const mode = truncate ? "w+b" : write ? "r+b" : "rb";
    const afp = await AIOFile.open(path, mode, { context, direct });
    const buffers = readInto
      ? Array.from({ length: depth }, () => new Uint8Array(block))
      : [];
    return {
      maxDepth: Infinity,
      read: readInto
        ? (slot, offset, length) =>
          afp.readInto(buffers[slot].subarray(0, length), offset)
        : (_slot, offset, length) => afp.read(length, offset),
      write: (_slot, offset, data) => afp.write(data, offset),
      sync: () => afp.fsync(),
      close: () => afp.close(),
    };
  };
}

function denoOpenOptions(
  { write, truncate }: OpenOptions,
): Deno.OpenOptions {
  return { read: true, write, create: truncate, truncate };
}

async function fsFileRead(
  file: Deno.FsFile,
  buffer: Uint8Array,
  offset: number,
): Promise<number> {
  await file.seek(offset, Deno.SeekMode.Start);
  return await file.read(buffer) ?? 0;
}

async function fsFileWrite(
  file: Deno.FsFile,
  data: Uint8Array,
  offset: number,
): Promise<number> {
  await file.seek(offset, Deno.SeekMode.Start);
  return await file.write(data);
}

/**
 * One `Deno.FsFile`, one request at a time: it has a file pointer and no
 * positional read, so concurrent seek+read pairs on it would race.
 */
export const fsFileOpener: OpenPositional = async (path, options) => {
  const file = await Deno.open(path, denoOpenOptions(options));
  const buffer = new Uint8Array(options.block);
  return {
    maxDepth: 1,
    read: (_slot, offset, length) =>
      fsFileRead(file, buffer.subarray(0, length), offset),
    write: (_slot, offset, data) => fsFileWrite(file, data, offset),
    sync: () => file.sync(),
    close: () => Promise.resolve(file.close()),
  };
};

/** One `Deno.FsFile` per window slot, so that requests can overlap. */
export const fsFilePerRequestOpener: OpenPositional = async (path, options) => {
  const files: Deno.FsFile[] = [];
  for (let i = 0; i < options.depth; i++) {
    files.push(await Deno.open(path, denoOpenOptions(options)));
  }
  const buffers = files.map(() => new Uint8Array(options.block));
  return {
    maxDepth: files.length,
    read: (slot, offset, length) =>
      fsFileRead(files[slot], buffers[slot].subarray(0, length), offset),
    write: (slot, offset, data) => fsFileWrite(files[slot], data, offset),
    sync: () => files[0].sync(),
    close: () => Promise.resolve(files.forEach((file) => file.close())),
  };
};

/** `node:fs/promises` `FileHandle.read`/`write` with positions, in this process. */
export const nodeFsOpener: OpenPositional = async (path, options) => {
  const flags = options.truncate ? "w+" : options.write ? "r+" : "r";
  const handle = await nodeOpen(path, flags);
  const buffers = Array.from(
    { length: options.depth },
    () => new Uint8Array(options.block),
  );
  return {
    maxDepth: options.depth,
    read: async (slot, offset, length) =>
      (await handle.read(buffers[slot], 0, length, offset)).bytesRead,
    write: async (_slot, offset, data) =>
      (await handle.write(data, 0, data.length, offset)).bytesWritten,
    sync: () => handle.sync(),
    close: () => handle.close(),
  };
};
