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
 *
 * const path = await Deno.makeTempFile();
 * await using afp = await AIOFile.open(path, "w+");
 * await afp.write("Hello ");
 * await afp.write("world", 6);
 * console.log(await afp.read()); // "Hello world"
 * console.log(afp.backend); // "uring" with --allow-ffi on Linux, "deno" without
 * ```
 *
 * @example Choosing a backend
 * ```ts
 * import { AIOFile, createContext } from "@aiofile/aiofile";
 *
 * await using context = createContext({ backend: "deno", maxRequests: 16 });
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+b", { context });
 * await afp.write(new Uint8Array([1, 2, 3]));
 * ```
 *
 * @module
 */

export { AIOFile, type AIOFileOptions, type DataOf } from "./src/aiofile.ts";
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
