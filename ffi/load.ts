/**
 * Loads a shared library without ever prompting: each candidate path is checked
 * with `Deno.permissions.querySync` before `Deno.dlopen`, and absolute paths are
 * tried before the bare soname so that a path-scoped `--allow-ffi=<path>` grant
 * works.
 *
 * @module
 */

/** A library that was loaded, or why none could be. */
export type LoadResult<S extends Deno.ForeignLibraryInterface> =
  | {
    readonly ok: true;
    readonly library: Deno.DynamicLibrary<S>;
    readonly path: string;
  }
  | {
    readonly ok: false;
    readonly reason: string;
    /**
     * The library may load later: a path failed for want of descriptors or
     * memory (EMFILE, ENFILE, ENOMEM, EAGAIN), not because it is missing.
     */
    readonly transient?: boolean;
  };

/** `dlopen` messages (`strerror`) of the failures that may go away: EMFILE, ENFILE, ENOMEM, EAGAIN. */
const TRANSIENT_FAILURE =
  /Too many open files|Cannot allocate memory|Resource temporarily unavailable/;

/**
 * Tries each path in turn and returns the first library that loads.
 *
 * @param paths Absolute paths first, then sonames.
 * @param symbols The symbol table.
 */
export function loadLibrary<S extends Deno.ForeignLibraryInterface>(
  paths: readonly string[],
  symbols: S,
): LoadResult<S> {
  const failures: string[] = [];
  let granted = false;
  let transient = false;
  for (const path of paths) {
    const state = Deno.permissions.querySync({ name: "ffi", path }).state;
    if (state !== "granted") continue;
    granted = true;
    try {
      return { ok: true, library: Deno.dlopen(path, symbols), path };
    } catch (error) {
      const message = (error as Error).message;
      failures.push(`${path}: ${message}`);
      transient ||= TRANSIENT_FAILURE.test(message);
    }
  }
  if (!granted) {
    return {
      ok: false,
      reason: "FFI permission is not granted (run with --allow-ffi)",
    };
  }
  return {
    ok: false,
    reason: `the library could not be loaded (${failures.join("; ")})`,
    transient,
  };
}
