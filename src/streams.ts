/**
 * Web Streams over positional file I/O.
 *
 * @module
 */

import { WriteBehind } from "./write_behind.ts";
import { whenAborted } from "../impl/shared/abort.ts";

/** Chunk size of the writable streams, and the first read of the readable ones: 64 KiB. */
export const STREAM_CHUNK_SIZE = 65536;

/** How many chunks a writable stream keeps in flight before it waits. */
const WRITES_IN_FLIGHT = 8;

/**
 * Hands bytes to the stream's reader, at once; false when the stream was
 * cancelled and takes nothing more (the bytes are not delivered).
 */
export type Deliver<T> = (bytes: T) => boolean;

/**
 * Where a readable byte stream gets its bytes. Each read ends by calling
 * `deliver` with what it read, so that a source that keeps a place (a file
 * position) moves it in the same step as the bytes go out, and not at all for a
 * stream cancelled meanwhile.
 */
export interface ByteSource {
  /**
   * Reads the next bytes and delivers them: in a buffer that no one else holds
   * and that starts where the bytes start (the stream transfers it); empty at
   * the end.
   */
  nextRead(deliver: Deliver<Uint8Array>): Promise<void>;
  /**
   * Reads the next bytes straight into `into` (the memory of a BYOB reader's
   * view, which no reader can reach until it is delivered) and delivers how
   * many, 0 at the end.
   */
  readInto(into: Uint8Array, deliver: Deliver<number>): Promise<void>;
}

/**
 * A byte stream (`type: "bytes"`) over `source`, up to the first empty read. It
 * pulls only when a reader wants more and the stream holds no bytes (a BYOB
 * read is served from what the stream holds first), so the two sources can
 * take turns without reordering bytes: a BYOB reader (`getReader({ mode:
 * "byob" })`) has its views filled by `readInto` with no copy, a default
 * reader gets the reads of `nextRead`.
 *
 * When `signal` aborts (or has aborted already), the stream errors with its
 * reason at once, and a read in flight delivers nothing.
 */
export function readableFrom(
  source: ByteSource,
  signal?: AbortSignal,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let cancelled = false;
  let forget: (() => void) | undefined;
  const done = () => {
    cancelled = true;
    forget?.();
  };
  return new ReadableStream({
    type: "bytes",
    start(controller) {
      forget = onAbort(signal, (reason) => {
        cancelled = true;
        controller.error(reason);
      });
    },
    pull(controller) {
      return pullFrom(controller).catch((error) => {
        done(); // the stream errors with it: stop following the signal
        throw error;
      });
    },
    cancel: done,
  });

  /** One pull: a BYOB read into the reader's view, or a read of its own. */
  function pullFrom(controller: ReadableByteStreamController): Promise<void> {
    const request = controller.byobRequest;
    // Only a BYOB read makes a request (no `autoAllocateChunkSize`).
    if (request?.view) {
      const { buffer, byteOffset, byteLength } = request.view;
      return source.readInto(
        new Uint8Array(buffer, byteOffset, byteLength),
        (n) => {
          if (cancelled) return false;
          if (n === 0) {
            done();
            controller.close();
          }
          request.respond(n);
          return true;
        },
      );
    }
    return source.nextRead((bytes) => {
      if (cancelled) return false;
      if (bytes.length === 0) {
        done();
        controller.close();
      } else controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      return true;
    });
  }
}

/**
 * A stream whose chunks go to `write`, in order. Writes are pipelined: a chunk
 * is accepted as soon as its write has started, while fewer than 8 are in
 * flight. A failed write errors the stream on the next chunk or on close, so no
 * failure is lost; `close` resolves once every write has landed.
 *
 * When `signal` aborts (or has aborted already), the stream errors with its
 * reason at once (`write` is expected to cancel its writes in flight).
 */
export function writableTo<T>(
  write: (chunk: T) => Promise<number>,
  signal?: AbortSignal,
): WritableStream<T> {
  const writes = new WriteBehind(WRITES_IN_FLIGHT);
  let forget: (() => void) | undefined;
  const settled = () => {
    forget?.();
    return writes.drain();
  };
  return new WritableStream<T>({
    start(controller) {
      forget = onAbort(signal, (reason) => controller.error(reason));
    },
    write(chunk) {
      const { failure } = writes;
      if (failure !== undefined) {
        forget?.(); // the stream errors with it: stop following the signal
        throw failure.error;
      }
      return writes.add(write(chunk));
    },
    close: settled,
    abort: () => settled().catch(() => {}),
  });
}

/**
 * Calls `errored` with `signal.reason` when `signal` aborts, or now if it has;
 * returns what stops that (nothing to stop without a signal).
 */
function onAbort(
  signal: AbortSignal | undefined,
  errored: (reason: unknown) => void,
): (() => void) | undefined {
  if (signal === undefined) return undefined;
  if (signal.aborted) {
    errored(signal.reason);
    return undefined;
  }
  return whenAborted(signal, () => errored(signal.reason));
}
