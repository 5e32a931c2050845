/**
 * Loads a shared library without ever prompting: each candidate path is checked
 * with `Deno.permissions.querySync` before `Deno.dlopen`, and absolute paths are
 * tried before the bare soname so that a path-scoped `--allow-ffi=<path>` grant
 * works.
 *
 * A library denied by `--deny-ffi=<path>` is loaded by no other name. Deno
 * compares the paths it is given as written: denying
 * `/usr/lib/x86_64-linux-gnu/libc.so.6` still lets `/lib/x86_64-linux-gnu/libc.so.6`
 * (the same file, through the `/lib -> usr/lib` link) load. So before loading
 * anything, every candidate is followed to its file (its directory resolved,
 * each symbolic link on the way, its real path) and the library is refused when
 * Deno denies any of those paths, for any candidate. A bare soname is resolved
 * the way Deno resolves it once any `--deny-ffi` or path-scoped grant is in
 * force: against the working directory (under a plain `--allow-ffi` Deno hands
 * it to the dynamic loader, and nothing is denied then).
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

/** Why nothing was loaded when Deno grants no FFI access. */
export const FFI_NOT_GRANTED =
  "FFI permission is not granted (run with --allow-ffi)";

/**
 * Whether Deno grants FFI access, without prompting: to `path`, or with no
 * path given, to every path (an `--allow-ffi` without a path scope, which
 * `Deno.UnsafePointerView` needs).
 */
export function ffiGranted(path?: string): boolean {
  const query: Deno.PermissionDescriptor = path === undefined
    ? { name: "ffi" }
    : { name: "ffi", path };
  return Deno.permissions.querySync(query).state === "granted";
}

/** `dlopen` messages (`strerror`) of the failures that may go away: EMFILE, ENFILE, ENOMEM, EAGAIN. */
const TRANSIENT_FAILURE =
  /Too many open files|Cannot allocate memory|Resource temporarily unavailable/;

/**
 * Why each list of candidates is refused, once a path of it was found denied:
 * a denial lasts for the process (Deno can revoke a permission, never grant
 * back one denied).
 */
const deniedLibraries = new Map<string, string>();

/**
 * Tries each path in turn and returns the first library that loads. Loads
 * nothing when Deno denies FFI access to any path a candidate names or
 * resolves to.
 *
 * @param paths Absolute paths first, then sonames.
 * @param symbols The symbol table.
 */
export function loadLibrary<S extends Deno.ForeignLibraryInterface>(
  paths: readonly string[],
  symbols: S,
): LoadResult<S> {
  const key = paths.join("\0");
  const denied = deniedLibraries.get(key) ?? deniedPath(paths);
  if (denied !== undefined) {
    deniedLibraries.set(key, denied);
    return { ok: false, reason: denied };
  }
  const failures: string[] = [];
  let granted = false;
  let transient = false;
  for (const path of paths) {
    if (!ffiGranted(path)) continue;
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
    return { ok: false, reason: FFI_NOT_GRANTED };
  }
  return {
    ok: false,
    reason: `the library could not be loaded (${failures.join("; ")})`,
    transient,
  };
}

/**
 * Why the library must not be loaded: a path that a candidate names or
 * resolves to is denied. `undefined` when none is.
 */
function deniedPath(paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const names = namesOf(path);
    const denied = names?.find((name) => ffiState(name) === "denied");
    if (denied === undefined) continue;
    const how = denied === path ? "" : ` (${path} resolves to it)`;
    return `FFI access to ${denied} is denied${how}: the library is not loaded by any other path`;
  }
  return undefined;
}

function ffiState(path: string): Deno.PermissionState {
  return Deno.permissions.querySync({ name: "ffi", path }).state;
}

function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

/** The directory part of a path (`.` for a bare name). */
function directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/** The longest chain of symbolic links followed (Linux's `MAXSYMLINKS`). */
const MAX_LINKS = 40;

/**
 * The paths that `path` names on the way to its file: itself; then, as far as
 * read permission lets it look (it never prompts), the same name in its
 * resolved directory, each symbolic link it goes through, and its real path.
 * `undefined` when the file is known not to exist (it cannot load).
 */
export function namesOf(path: string): string[] | undefined {
  const names = [path];
  try {
    let current = path;
    for (let link = 0; link <= MAX_LINKS; link++) {
      const directory = directoryOf(current);
      if (!mayRead(directory)) return names;
      const base = current.slice(current.lastIndexOf("/") + 1);
      const resolved = Deno.realPathSync(directory);
      const here = `${resolved === "/" ? "" : resolved}/${base}`;
      names.push(here);
      if (!mayRead(here)) return names;
      if (!Deno.lstatSync(here).isSymlink) break;
      const target = Deno.readLinkSync(here);
      current = target.startsWith("/")
        ? target
        : `${directoryOf(here)}/${target}`;
      names.push(current);
    }
    if (mayRead(path)) names.push(Deno.realPathSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    // Anything else (a loop of links, a permission): what was found so far.
  }
  return [...new Set(names)];
}
