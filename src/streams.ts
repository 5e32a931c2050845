/**
 * Web Streams over positional file I/O.
 *
 * @module
 */

import { WriteBehind } from "./write_behind.ts";

/** Chunk size of the writable streams, and the first read of the readable ones: 64 KiB. */
export const STREAM_CHUNK_SIZE = 65536;

/** How many chunks a writable stream keeps in flight before it waits. */
const WRITES_IN_FLIGHT = 8;

/** Where a readable byte stream gets its bytes. */
export interface ByteSource {
  /**
   * The next bytes, in a buffer that no one else holds and that starts where
   * the bytes start (the stream transfers it); empty at the end.
   */
  nextRead(): Promise<Uint8Array>;
  /**
   * Reads the next bytes straight into `into` (the memory of a BYOB reader's
   * view, which the stream holds until this settles); resolves to the bytes
   * read, 0 at the end. Without it, `nextRead` serves BYOB readers too,
   * through a copy.
   */
  readInto?(into: Uint8Array): Promise<number>;
  /** Called when a reader cancels the stream: nothing read after that is delivered. */
  cancel?(): void;
}

/**
 * A byte stream (`type: "bytes"`) over `source`, up to the first empty read. It
 * pulls only when a reader wants more and the stream holds no bytes (a BYOB
 * read is served from what the stream holds first), so the two sources can
 * take turns without reordering bytes: a BYOB reader (`getReader({ mode:
 * "byob" })`) has its views filled by `readInto` with no copy, a default
 * reader gets the reads of `nextRead`.
 */
export function readableFrom(
  source: ByteSource,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let cancelled = false;
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      const request = controller.byobRequest;
      if (source.readInto !== undefined && request?.view) {
        const { buffer, byteOffset, byteLength } = request.view;
        const n = await source.readInto(
          new Uint8Array(buffer, byteOffset, byteLength),
        );
        // A cancelled stream takes no more bytes; the view stays the stream's.
        if (cancelled) return;
        if (n === 0) controller.close();
        request.respond(n);
        return;
      }
      const bytes = await source.nextRead();
      if (cancelled) return;
      if (bytes.length === 0) {
        controller.close();
        // A BYOB read waiting on a closed stream ends once given back empty.
        controller.byobRequest?.respond(0);
      } else {
        controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      }
    },
    cancel() {
      cancelled = true;
      source.cancel?.();
    },
  });
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
