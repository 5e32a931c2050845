/**
 * The backends this library knows, best first, and the choice among them.
 *
 * The FFI backends are modules of their own, loaded with `import()` when the
 * first file that may need one opens: importing the library loads no FFI code
 * and no `node:` module, and a process that never uses FFI (Deno Deploy, no
 * `--allow-ffi`) never loads them. Until a backend's module is loaded, what can
 * be known without it (the operating system, the FFI permission) decides; its
 * module then probes the rest (io_uring allowed, libaio present, ...).
 *
 * @module
 */

import {
  BACKEND_NAMES,
  type BackendName,
  type BackendProvider,
} from "./backend.ts";
import { permanently, temporarily, type Unavailable } from "./availability.ts";
import { denoProvider } from "./deno.ts";
import { currentArch } from "../ffi/arch.ts";

/** Loads each backend's provider (the FFI ones with their module). */
const LOADERS: Readonly<
  Record<BackendName, () => Promise<BackendProvider>>
> = {
  uring: () => import("./uring.ts").then((module) => module.uringProvider),
  linux: () => import("./linux.ts").then((module) => module.linuxProvider),
  thread: () => import("./thread.ts").then((module) => module.threadProvider),
  deno: () => Promise.resolve(denoProvider),
};

const loaded = new Map<BackendName, BackendProvider>([["deno", denoProvider]]);
const loading = new Map<BackendName, Promise<BackendProvider>>();

/**
 * Records a provider whose module is loaded already (`providers.ts` loads them
 * all at once), so that what it knows is used at once.
 */
export function providerLoaded(provider: BackendProvider): void {
  loaded.set(provider.name, provider);
}

/** Whether `name` names a backend. */
export function isBackendName(name: unknown): name is BackendName {
  return (BACKEND_NAMES as readonly unknown[]).includes(name);
}

/** The provider of `name` if its module is loaded, else `undefined`. */
export function loadedProvider(name: BackendName): BackendProvider | undefined {
  return loaded.get(name);
}

/**
 * How many descriptors must be free to load a backend's module: Deno reads
 * modules through descriptors, and its module loader panics (the process
 * dies) when none is left (Deno 2.9.6).
 */
const DESCRIPTORS_TO_LOAD = 8;

/**
 * Whether at least {@linkcode DESCRIPTORS_TO_LOAD} descriptors are free, as
 * far as can be told without prompting (true when `/dev/null` may not be read).
 */
function descriptorsFree(): boolean {
  const query = { name: "read", path: "/dev/null" } as const;
  if (Deno.permissions.querySync(query).state !== "granted") return true;
  const held: Deno.FsFile[] = [];
  try {
    while (held.length < DESCRIPTORS_TO_LOAD) {
      held.push(Deno.openSync("/dev/null"));
    }
    return true;
  } catch {
    return false;
  } finally {
    for (const file of held) file.close();
  }
}

/** Why a backend's module cannot be loaded now (no descriptor is free). */
export class NotLoadedYet extends Error {
  /** The transient reason, as backends give theirs. */
  readonly unavailable: Unavailable;

  /** @param name The backend whose module waits. */
  constructor(name: BackendName) {
    const unavailable = temporarily(
      `its module cannot be loaded while descriptors run out (${name})`,
    );
    super(unavailable.reason);
    this.name = "NotLoadedYet";
    this.unavailable = unavailable;
  }
}

/**
 * The provider of `name`, its module loaded first if it is not yet.
 *
 * @throws {NotLoadedYet} (rejects) when the module would have to be loaded
 * while no descriptor is free: the backend is then unavailable for now.
 */
export function loadProvider(name: BackendName): Promise<BackendProvider> {
  const provider = loaded.get(name);
  if (provider !== undefined) return Promise.resolve(provider);
  let promise = loading.get(name);
  if (promise === undefined) {
    if (!descriptorsFree()) return Promise.reject(new NotLoadedYet(name));
    promise = LOADERS[name]().then((provider) => {
      loaded.set(name, provider);
      return provider;
    });
    promise.catch(() => loading.delete(name));
    loading.set(name, promise);
  }
  return promise;
}

/**
 * Why `provider` cannot be used now and whether that is for good, or
 * `undefined` when it can be. A provider that cannot tell (it has no
 * `unavailability()`) is taken at its word: its reasons are permanent. As cheap
 * as `unavailableReason()`: probes run once, or again after a transient failure's
 * backoff (impl/availability.ts).
 */
export function unavailabilityOf(
  provider: BackendProvider,
): Unavailable | undefined {
  const telling = provider as BackendProvider & {
    unavailability?: () => Unavailable | undefined;
  };
  if (telling.unavailability !== undefined) return telling.unavailability();
  const reason = provider.unavailableReason();
  return reason === undefined ? undefined : permanently(reason);
}

/**
 * What is known now, without loading anything, of why `name` cannot be used:
 * its provider's full answer once its module is loaded, else what the
 * operating system and the FFI permission say (the FFI backends need Linux
 * on x86_64 or aarch64, and FFI access to the C library).
 */
export function knownUnavailability(
  name: BackendName,
): Unavailable | undefined {
  const provider = loaded.get(name);
  if (provider !== undefined) return unavailabilityOf(provider);
  const arch = currentArch();
  if (arch === undefined) {
    return permanently(
      `needs Linux on x86_64 or aarch64 (this is ${Deno.build.os} on ${Deno.build.arch})`,
    );
  }
  const granted = arch.libraryDirs.some((dir) =>
    Deno.permissions.querySync({ name: "ffi", path: `${dir}/libc.so.6` })
      .state === "granted"
  );
  return granted ? undefined : permanently(
    "FFI permission is not granted (run with --allow-ffi)",
  );
}

/**
 * The names of the backends a context tries, best first: from `first` when
 * given, else from the best; without those known to be unavailable for good
 * (but `first`, which the context asked for).
 */
export function backendChain(first?: BackendName): BackendName[] {
  const start = first === undefined ? 0 : BACKEND_NAMES.indexOf(first);
  return BACKEND_NAMES.slice(start).filter((name) =>
    name === first || knownUnavailability(name)?.permanent !== true
  );
}

/** The error for a backend a context asked for that cannot be used here. */
export function unavailableError(
  name: BackendName,
  unavailable: Unavailable,
): Deno.errors.NotSupported {
  const when = unavailable.permanent
    ? "unavailable"
    : "temporarily unavailable";
  return new Deno.errors.NotSupported(
    `The "${name}" backend is ${when}: ${unavailable.reason}`,
  );
}
