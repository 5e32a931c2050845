/**
 * Runs a test once per backend. A backend unavailable here is still listed, as an
 * ignored test whose name says why. After each test, no nonblocking FFI call may
 * be left on Deno's thread pool.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type BackendName, type Context, createContext } from "../mod.ts";
import {
  BACKEND_NAMES,
  type BackendFile,
  type OpenFlags,
  type OpenTarget,
} from "../impl/backend.ts";
import { DenoBackend } from "../impl/deno.ts";
import { RingBackend } from "../impl/ring/engine.ts";
import { ThreadBackend } from "../impl/thread.ts";
import { openFlags, parseMode } from "../src/mode.ts";
import { unavailableReason } from "../impl/providers.ts";
import { pendingForeignCalls } from "../impl/pending.ts";

/** A temporary directory for one test, removed afterwards. */
export async function withTempDir<T>(
  use: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "aiofile-test-" });
  try {
    return await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Options of {@linkcode backendTest}. */
export interface BackendTestOptions {
  /** Only these backends (for behaviour that applies to some of them). */
  only?: readonly BackendName[];
}

/**
 * Registers `fn` as one test per backend, each with a fresh context for that
 * backend and a fresh temporary directory.
 */
export function backendTest(
  name: string,
  fn: (context: Context, dir: string, backend: BackendName) => Promise<void>,
  options: BackendTestOptions = {},
): void {
  for (const backend of BACKEND_NAMES) {
    if (options.only !== undefined && !options.only.includes(backend)) continue;
    const reason = unavailableReason(backend);
    Deno.test({
      name: reason === undefined
        ? `[${backend}] ${name}`
        : `[${backend}] ${name} (skipped: ${reason})`,
      ignore: reason !== undefined,
      async fn() {
        const context = createContext({ backend });
        try {
          await withTempDir((dir) => fn(context, dir, backend));
        } finally {
          await context.close();
        }
        assert.equal(pendingForeignCalls(), 0, "an FFI call is still pending");
      },
    });
  }
}

/** Whether `dir` is on ext2/3/4 (`f_type` 0xef53). */
export function isExt4(dir: string): boolean {
  const { stdout } = new Deno.Command("stat", { args: ["-f", "-c", "%t", dir] })
    .outputSync();
  return new TextDecoder().decode(stdout).trim() === "ef53";
}

/** Open flags of a file opened for reading only, with `O_DIRECT` or not. */
export function readOnly(direct: boolean): OpenFlags {
  return openFlags(parseMode("r"), direct);
}

/** The bytes of `chunks`, one after another, in one new buffer. */
export function joinBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/**
 * Calls `wrap` on every backend file opened (by any backend) until the
 * returned function is called, so that a test can replace or observe its
 * methods. Tests in one file run one after another, so the patch affects only
 * the test that made it.
 */
export function wrapBackendFiles(
  wrap: (file: BackendFile) => void,
): () => void {
  const classes = [
    DenoBackend.prototype,
    ThreadBackend.prototype,
    RingBackend.prototype,
  ];
  const originals = classes.map((proto) => proto.open);
  classes.forEach((proto, i) => {
    const original = originals[i];
    proto.open = async function (
      this: DenoBackend & ThreadBackend & RingBackend,
      target: OpenTarget,
    ): Promise<BackendFile> {
      const file = await original.call(this, target);
      wrap(file);
      return file;
    };
  });
  return () => classes.forEach((proto, i) => proto.open = originals[i]);
}
