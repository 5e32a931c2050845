/**
 * Real asynchronous file I/O for Deno: positional reads and writes with many
 * requests in flight on one file, served by the best backend the machine allows
 * (io_uring, Linux native AIO, a thread pool through FFI, or `Deno.FsFile`).
 *
 * Importing this module needs no permission and does nothing: backends are
 * probed when the first file is opened.
 *
 * @example Positional I/O with `AIOFile`
 * ```ts
 * import { AIOFile } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await using afp = await AIOFile.open(path, "w+");
 * await afp.write("Hello ");
 * await afp.write("world", 6);
 * assert.equal(await afp.read(), "Hello world");
 * // The best backend allowed: "uring" with --allow-ffi on Linux (or "linux"
 * // or "thread", as the machine permits), "deno" without.
 * console.log(afp.backend);
 * ```
 *
 * @example A file-like object with a position
 * ```ts
 * import { asyncOpen } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+");
 * await afp.write("first\nsecond\n");
 * afp.seek(0);
 * assert.equal(await afp.readLine(), "first\n");
 * assert.equal(afp.tell(), 6);
 * ```
 *
 * @example Choosing a backend
 * ```ts
 * import { AIOFile, createContext } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using context = createContext({ backend: "deno", maxRequests: 16 });
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+b", { context });
 * await afp.write(new Uint8Array([1, 2, 3]));
 * assert.equal(afp.backend, "deno");
 * ```
 *
 * @module
 */

export {
  AIOFile,
  type AIOFileOptions,
  type DataOf,
  type OperationOptions,
} from "./src/aiofile.ts";
export {
  Context,
  type ContextOptions,
  createContext,
  DEFAULT_MAX_REQUESTS,
  defaultContext,
} from "./src/context.ts";
export { AIOError } from "./impl/shared/errors.ts";
export { type FileMode, parseMode } from "./src/mode.ts";
export type { BackendName } from "./impl/backend.ts";
export { DEFAULT_TUNING, type QueueTuning } from "./impl/tuning.ts";
export { asyncOpen, type FileWrapperOf } from "./src/async_open.ts";
export {
  BinaryFileWrapper,
  FileWrapper,
  TextFileWrapper,
} from "./src/file_wrapper.ts";
export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_READ_AHEAD_BYTES,
  Reader,
  type ReaderOptions,
} from "./src/reader.ts";
export {
  DEFAULT_LINE_CHUNK_SIZE,
  LineReader,
  type LineReaderOptions,
} from "./src/line_reader.ts";
export {
  DEFAULT_WRITE_BEHIND,
  Writer,
  type WriterOptions,
} from "./src/writer.ts";
