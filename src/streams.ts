/**
 * Web Streams over positional file I/O.
 *
 * @module
 */

import { type ByteReadable, ChunkSource } from "./chunks.ts";

/** Chunk size of the streams: 64 KiB. */
export const STREAM_CHUNK_SIZE = 65536;

/** How many chunks a writable stream keeps in flight before it waits. */
const WRITES_IN_FLIGHT = 8;

/**
 * A stream of a file's bytes from `offset` to its end. `advanced` is told the
 * offset after each chunk delivered.
 */
export function readableFrom(
  file: ByteReadable,
  offset: number,
  advanced: (offset: number) => void,
): ReadableStream<Uint8Array> {
  const source = new ChunkSource(file, offset, STREAM_CHUNK_SIZE, 4);
  let position = offset;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await source.next();
      if (chunk.length === 0) {
        controller.close();
        return;
      }
      position += chunk.length;
      advanced(position);
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

/**
 * A stream whose chunks go to `write`, in order. Writes are pipelined: a chunk
 * is accepted as soon as its write has started, while fewer than 8 are in
 * flight. A failed write errors the stream on the next chunk or on close, so no
 * failure is lost; `close` resolves once every write has landed.
 */
export function writableTo<T>(
  write: (chunk: T) => Promise<number>,
): WritableStream<T> {
  const inFlight: Promise<number>[] = [];
  let failure: { error: unknown } | undefined;
  const settle = async (count: number) => {
    for (const write of inFlight.splice(0, count)) {
      try {
        await write;
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  };
  return new WritableStream<T>({
    async write(chunk) {
      if (failure !== undefined) throw failure.error;
      const started = write(chunk);
      started.catch(() => {}); // Reported by the next write or by close.
      inFlight.push(started);
      if (inFlight.length > WRITES_IN_FLIGHT) await settle(1);
    },
    close: () => settle(inFlight.length),
    abort: () => settle(inFlight.length).catch(() => {}),
  });
}
