/**
 * Web Streams over positional file I/O.
 *
 * @module
 */

import { WriteBehind } from "./write_behind.ts";

/** Chunk size of the streams: 64 KiB. */
export const STREAM_CHUNK_SIZE = 65536;

/** How many chunks a writable stream keeps in flight before it waits. */
const WRITES_IN_FLIGHT = 8;

/**
 * A stream of the chunks `next` gives, up to the first empty one. It pulls only
 * when its reader wants more.
 */
export function readableFrom(
  next: () => Promise<Uint8Array>,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      const chunk = await next();
      if (chunk.length === 0) controller.close();
      // Chunks are the stream's own (views of its reads), never resizable.
      else controller.enqueue(chunk as Uint8Array<ArrayBuffer>);
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
  const writes = new WriteBehind(WRITES_IN_FLIGHT);
  return new WritableStream<T>({
    write(chunk) {
      const { failure } = writes;
      if (failure !== undefined) throw failure.error;
      return writes.add(write(chunk));
    },
    close: () => writes.drain(),
    abort: () => writes.drain().catch(() => {}),
  });
}
