/**
 * A file served by a kernel queue: each read, write and sync goes through the
 * file's policies (policies/policy.ts) to the queue; a write the file does
 * inline (policies/inline_writes.ts) is done on this thread instead, through
 * the same policies. Truncates, sizes and stats are calls of the thread
 * backend's file on the same descriptor.
 *
 * @module
 */

import type { BackendFile } from "../backend.ts";
import type { ThreadFile } from "../thread.ts";
import type { RingBackend } from "./engine.ts";
import type { InlineWrites } from "./policies/inline_writes.ts";
import {
  type FilePolicy,
  readChain,
  type ReadStep,
  syncChain,
  type SyncStep,
  writeChain,
  type WriteStep,
} from "./policies/policy.ts";

/** A file served by a kernel queue. */
export class RingFile implements BackendFile {
  readonly fd: number;
  readonly path: string;
  readonly endOnShortRead = true;
  /** `O_DIRECT` reads go through aligned buffers of the backend's and are copied. */
  readonly readMemory: "library" | "copied";
  readonly alignment: number;
  readonly #threads: ThreadFile;
  readonly #policies: readonly FilePolicy[];
  readonly #inline: InlineWrites | undefined;
  readonly #read: ReadStep;
  readonly #write: WriteStep;
  readonly #writeNow: WriteStep;
  readonly #sync: SyncStep;

  /**
   * @param queue The kernel queue.
   * @param fd The file's descriptor.
   * @param path Its path, for errors.
   * @param threads Its calls on Deno's pool and on this thread (the same descriptor).
   * @param policies Its policies, in the order they see each call.
   * @param options `alignment` for `O_DIRECT`; `inline` when writes may be
   * done on this thread.
   */
  constructor(
    queue: RingBackend,
    fd: number,
    path: string,
    threads: ThreadFile,
    policies: readonly FilePolicy[],
    options: { alignment: number; inline: InlineWrites | undefined },
  ) {
    this.fd = fd;
    this.path = path;
    this.#threads = threads;
    this.#policies = policies;
    this.#inline = options.inline;
    this.alignment = options.alignment;
    this.readMemory = this.alignment === 1 ? "library" : "copied";
    const request = (
      op: "read" | "write",
      buffer: Uint8Array,
      offset: number,
      signal: AbortSignal | undefined,
      nowait = false,
    ) =>
      queue.submit({
        op,
        fd,
        buffer,
        offset,
        nowait,
        path,
        alignment: this.alignment,
        signal,
      });
    this.#read = readChain(
      policies,
      (into, offset, signal, nowait) =>
        request("read", into, offset, signal, nowait),
    );
    this.#write = writeChain(
      policies,
      (data, offset, signal) => request("write", data, offset, signal),
    );
    const inline = options.inline;
    this.#writeNow = writeChain(
      policies,
      (data, offset) =>
        queue.settleInline(() => inline!.writeNow(data, offset)),
    );
    this.#sync = syncChain(policies, async (data, signal) => {
      await queue.submit({
        op: data ? "fdatasync" : "fsync",
        fd,
        buffer: undefined,
        offset: 0,
        nowait: false,
        path,
        alignment: 1,
        signal,
      });
    });
  }

  read(
    into: Uint8Array,
    offset: number,
    signal?: AbortSignal,
  ): Promise<number> {
    return this.#read(into, offset, signal);
  }

  writeInline(data: Uint8Array, offset: number): Promise<number> | undefined {
    if (this.#inline?.takes(data.length) !== true) return undefined;
    return this.#writeNow(data, offset, undefined);
  }

  write(
    data: Uint8Array,
    offset: number,
    signal?: AbortSignal,
  ): Promise<number> {
    if (this.#inline?.takes(data.length) === true) {
      return this.#writeNow(data, offset, undefined); // over before it returns
    }
    return this.#write(data, offset, signal);
  }

  fsync(signal?: AbortSignal): Promise<void> {
    return this.#sync(false, signal);
  }

  fdatasync(signal?: AbortSignal): Promise<void> {
    return this.#sync(true, signal);
  }

  async truncate(length: number, signal?: AbortSignal): Promise<void> {
    await this.#threads.truncate(length, signal);
    for (const policy of this.#policies) policy.truncated?.(length);
  }

  size(): Promise<number> {
    return this.#threads.size();
  }

  stat(): Promise<Deno.FileInfo> {
    return this.#threads.stat();
  }

  async close(): Promise<void> {
    // A policy's call on the pool may still use the descriptor (the last
    // policies, such as early writeback, stop first).
    for (const policy of [...this.#policies].reverse()) await policy.close?.();
    await this.#threads.close(); // the descriptor they share
  }
}
