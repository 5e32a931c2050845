/**
 * Files that cannot seek (pipes, FIFOs, character devices such as a terminal,
 * `/dev/stdin`): `AIOFile` serves them one operation at a time, in call order,
 * each at the stream's own position, which counts the bytes read and written.
 *
 * @module
 */

import type { BackendFile } from "../impl/backend.ts";
import { Semaphore } from "../impl/shared/semaphore.ts";

/** The order and position of one file that cannot seek. */
export class StreamOrder {
  /** Bytes read and written so far: where the next operation must start. */
  #position = 0;
  readonly #turns = new Semaphore(1);
  readonly #name: string;

  /** @param name The file's name, for messages. */
  constructor(name: string) {
    this.#name = name;
  }

  /** The stream's position: the bytes read and written so far. */
  get position(): number {
    return this.#position;
  }

  /**
   * The backend file, with each read and write moving the position by the
   * bytes it moved (a request that fails moves nothing).
   */
  track(file: BackendFile): BackendFile {
    const moved = (n: number) => {
      this.#position += n;
      return n;
    };
    return {
      seekable: false,
      endOnShortRead: file.endOnShortRead,
      readMemory: file.readMemory,
      alignment: file.alignment,
      read: (into, offset, signal) =>
        file.read(into, offset, signal).then(moved),
      write: (data, offset, signal) =>
        file.write(data, offset, signal).then(moved),
      fsync: (signal) => file.fsync(signal),
      fdatasync: (signal) => file.fdatasync(signal),
      truncate: (length, signal) => file.truncate(length, signal),
      size: () => file.size(),
      stat: () => file.stat(),
      close: () => file.close(),
    };
  }

  /**
   * Runs `operation` once the operations called before it are over. When it
   * reads or writes at `offset`, that must be the position then: otherwise it
   * rejects with `Deno.errors.NotSupported`, since the file cannot seek. One
   * still waiting when `signal` aborts is dropped.
   */
  run<T>(
    offset: number | undefined,
    operation: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.#turns.run(() => {
      if (offset !== undefined && offset !== this.#position) {
        return Promise.reject(
          new Deno.errors.NotSupported(
            `'${this.#name}' cannot seek (a pipe, a FIFO or a terminal): it reads and writes in sequence, and its position is ${this.#position}, not ${offset}`,
          ),
        );
      }
      return operation();
    }, signal);
  }
}
