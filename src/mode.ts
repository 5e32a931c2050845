/**
 * Parsing of Python-style `open()` mode strings.
 *
 * @module
 */

import type { OpenFlags } from "../impl/backend.ts";

/**
 * A mode string parsed into what it allows.
 *
 * @example What `"a+"` allows
 * ```ts
 * import { type FileMode, parseMode } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const mode: FileMode = parseMode("a+");
 * assert.equal(mode.appending, true);
 * assert.equal(mode.readable, true);
 * assert.equal(mode.truncating, false);
 * assert.equal(mode.binary, false);
 * ```
 */
export interface FileMode {
  /** The mode string as given, for example `"r+b"`. */
  readonly text: string;
  /** Reads are allowed (`r`, or any mode with `+`). */
  readonly readable: boolean;
  /** Writes are allowed (`w`, `a`, `x`, or any mode with `+`). */
  readonly writable: boolean;
  /** The mode has `+`. */
  readonly plus: boolean;
  /** `a`: every write lands at the end of the file. */
  readonly appending: boolean;
  /** `x`: the file must not exist yet and is created. */
  readonly created: boolean;
  /** `w`: the file is created if missing and truncated to zero length. */
  readonly truncating: boolean;
  /** `b`: data is `Uint8Array`; otherwise it is `string`. */
  readonly binary: boolean;
}

const KINDS = "rwax";

/**
 * Parses a mode string the way Python's `open()` does: exactly one of `r`, `w`,
 * `a`, `x`, optionally `+`, optionally `b` (or `t`), each at most once, in any order.
 *
 * @throws {TypeError} when the mode is not valid.
 *
 * @example Parse a mode, or refuse it
 * ```ts
 * import { parseMode } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const mode = parseMode("r+b");
 * assert.equal(mode.writable, true);
 * assert.equal(mode.binary, true);
 * assert.throws(() => parseMode("rw"), TypeError);
 * ```
 */
export function parseMode(mode: string): FileMode {
  if (typeof mode !== "string") {
    throw new TypeError(`mode must be a string, got ${typeof mode}`);
  }
  const seen = new Set<string>();
  for (const ch of mode) {
    if (!"rwax+bt".includes(ch) || seen.has(ch)) {
      throw invalid(mode);
    }
    seen.add(ch);
  }
  const kinds = [...KINDS].filter((k) => seen.has(k));
  if (kinds.length !== 1 || (seen.has("b") && seen.has("t"))) {
    throw invalid(mode);
  }
  const kind = kinds[0];
  const plus = seen.has("+");
  return Object.freeze({
    text: mode,
    readable: kind === "r" || plus,
    writable: kind !== "r" || plus,
    plus,
    appending: kind === "a",
    created: kind === "x",
    truncating: kind === "w",
    binary: seen.has("b"),
  });
}

function invalid(mode: string): TypeError {
  return new TypeError(
    `Invalid mode ${
      JSON.stringify(mode)
    }: use one of r, w, a, x, optionally followed by + and b (for example "r", "rb", "w+", "ab+")`,
  );
}

/** What a backend opens for a mode: `direct` adds `O_DIRECT`. */
export function openFlags(mode: FileMode, direct: boolean): OpenFlags {
  return {
    read: mode.readable,
    write: mode.writable,
    append: mode.appending,
    create: mode.truncating || mode.appending,
    createNew: mode.created,
    truncate: mode.truncating,
    direct,
  };
}
