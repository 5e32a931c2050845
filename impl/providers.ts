/**
 * Every backend provider, loaded at once, with synchronous answers about
 * them: for tests, benchmarks and tools that want to know up front what this
 * machine offers. The library itself loads backends lazily (`select.ts`), so
 * importing `mod.ts` loads none of this.
 *
 * @module
 */

import type { BackendName, BackendProvider } from "./backend.ts";
import { denoProvider } from "./deno.ts";
import { linuxProvider } from "./linux.ts";
import { threadProvider } from "./thread.ts";
import { uringProvider } from "./uring.ts";
import { providerLoaded } from "./select.ts";

/** Every backend provider, best first. */
const PROVIDERS: readonly BackendProvider[] = [
  uringProvider,
  linuxProvider,
  threadProvider,
  denoProvider,
];

// The library's lazy loading finds them loaded (the same modules).
for (const provider of PROVIDERS) providerLoaded(provider);

/** Why `name` cannot be used in this process, or `undefined` when it can. */
export function unavailableReason(name: BackendName): string | undefined {
  return PROVIDERS.find((p) => p.name === name)!.unavailableReason();
}

/** The names of the backends usable in this process, best first. */
export function availableBackends(): BackendName[] {
  return PROVIDERS.filter((p) => p.unavailableReason() === undefined).map((p) =>
    p.name
  );
}
