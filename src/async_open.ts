/**
 * `asyncOpen`: open a file as a file-like object with a position.
 *
 * @module
 */

import { AIOFile, type AIOFileOptions } from "./aiofile.ts";
import { BinaryFileWrapper, TextFileWrapper } from "./file_wrapper.ts";
import { textLayout } from "./text_layout.ts";
import { abortable, signalOf } from "../impl/shared/abort.ts";

/**
 * The wrapper type of a mode: {@linkcode BinaryFileWrapper} for binary modes
 * (with `b`), {@linkcode TextFileWrapper} for text modes, either when the mode is
 * not a literal.
 *
 * @example The wrapper follows the mode
 * ```ts
 * import {
 *   asyncOpen,
 *   BinaryFileWrapper,
 *   type FileWrapperOf,
 * } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await using afp: FileWrapperOf<"rb"> = await asyncOpen(path, "rb");
 * assert.ok(afp instanceof BinaryFileWrapper);
 * assert.deepEqual(await afp.read(), new Uint8Array(0));
 * ```
 */
export type FileWrapperOf<M extends string> = string extends M
  ? BinaryFileWrapper<M> | TextFileWrapper<M>
  : M extends `${string}b${string}` ? BinaryFileWrapper<M>
  : TextFileWrapper<M>;

/**
 * Opens a file as a file-like object with a position, as Python's `open()` does:
 * `read`, `write`, `seek`, `tell`, `readLine`, line iteration, `iterChunked`, and
 * Web Streams. Binary modes give a {@linkcode BinaryFileWrapper}, text modes a
 * {@linkcode TextFileWrapper}.
 *
 * The position starts at 0, or at the end of the file in append modes. A
 * `Deno.FsFile` passed in is served by the `deno` backend and stays open when the
 * wrapper closes; the wrapper's reads and writes move its cursor.
 *
 * @param file A path, a `file:` URL or an open `Deno.FsFile`.
 * @param mode A Python-style mode: `r`, `w`, `a` or `x`, optionally `+` and `b`.
 * @param options The encoding (text modes), the context, `direct`, and a
 * `signal`: once it aborts, the opening (if still under way) and every
 * operation of the wrapper but `close` reject with `signal.reason`, and the
 * requests in flight are cancelled; `close` still syncs and closes.
 * @throws {TypeError} (the promise rejects) for a `signal` that is not an
 * `AbortSignal`, among other bad options.
 *
 * @example Write, seek, read
 * ```ts
 * import { asyncOpen } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using afp = await asyncOpen(await Deno.makeTempFile(), "w+");
 * await afp.write("Hello ");
 * await afp.write("world");
 * afp.seek(0);
 * assert.equal(await afp.read(), "Hello world");
 * ```
 *
 * @example Lines of a file
 * ```ts
 * import { asyncOpen } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "first\nsecond\n");
 * await using afp = await asyncOpen(path);
 * const lines = [];
 * for await (const line of afp) lines.push(line);
 * assert.deepEqual(lines, ["first\n", "second\n"]);
 * ```
 *
 * @example Append from the end
 * ```ts
 * import { asyncOpen } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "log\n");
 * await using afp = await asyncOpen(path, "a");
 * assert.equal(afp.tell(), 4); // the position starts at the end
 * await afp.write("more\n");
 * assert.equal(await Deno.readTextFile(path), "log\nmore\n");
 * ```
 */
export async function asyncOpen<M extends string = "r">(
  file: string | URL | Deno.FsFile,
  mode: M = "r" as M,
  options?: AIOFileOptions & {
    /** Once it aborts, the wrapper's operations but `close` reject with its reason. */
    signal?: AbortSignal;
  },
): Promise<FileWrapperOf<M>> {
  const signal = signalOf(options);
  signal?.throwIfAborted();
  const afp = new AIOFile<M>(file, mode, options);
  // Refuse an encoding that cannot be streamed before opening anything.
  if (!afp.mode.binary) textLayout(afp.encoding);
  const opening = afp.open();
  try {
    await abortable(opening, signal);
  } catch (error) {
    // Aborted while opening (a FIFO waits for its other end): the file is
    // closed once it is open.
    if (signal?.aborted) opening.then(() => afp.close()).catch(() => {});
    throw error;
  }
  try {
    const position = afp.mode.appending
      ? await abortable(afp.size(), signal)
      : 0;
    const wrapper = afp.mode.binary
      ? new BinaryFileWrapper(afp, position, { signal })
      : new TextFileWrapper(afp, position, { signal });
    return wrapper as FileWrapperOf<M>;
  } catch (error) {
    await afp.close().catch(() => {});
    throw error;
  }
}
