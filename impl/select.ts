/**
 * The backends this library knows, best first, and the choice among them.
 *
 * @module
 */

import {
  BACKEND_NAMES,
  type BackendName,
  type BackendProvider,
} from "./backend.ts";
import { denoProvider } from "./deno.ts";
import { linuxProvider } from "./linux.ts";
import { uringProvider } from "./uring.ts";
import { threadProvider } from "./thread.ts";

/** Every backend provider, best first. */
export const PROVIDERS: readonly BackendProvider[] = [
  uringProvider,
  linuxProvider,
  threadProvider,
  denoProvider,
];

/** Whether `name` names a backend. */
export function isBackendName(name: unknown): name is BackendName {
  return (BACKEND_NAMES as readonly unknown[]).includes(name);
}

/** Why `name` cannot be used in this process, or `undefined` when it can. */
export function unavailableReason(name: BackendName): string | undefined {
  const provider = PROVIDERS.find((p) => p.name === name);
  if (provider === undefined) return "it is not implemented yet";
  return provider.unavailableReason();
}

/**
 * The chain of providers that serve files, best first: starting at `first` when
 * given (which must be available), otherwise at the best available one. Each file
 * goes to the first provider in the chain that can serve it.
 *
 * @throws {Deno.errors.NotSupported} when `first` is unavailable here.
 */
export function providerChain(first?: BackendName): BackendProvider[] {
  if (first !== undefined) {
    const reason = unavailableReason(first);
    if (reason !== undefined) {
      throw new Deno.errors.NotSupported(
        `The "${first}" backend is unavailable: ${reason}. Available here: ${
          availableBackends().join(", ")
        }`,
      );
    }
  }
  const start = first === undefined
    ? 0
    : PROVIDERS.findIndex((p) => p.name === first);
  return PROVIDERS.slice(start).filter((p) =>
    p.name === first || p.unavailableReason() === undefined
  );
}

/** The names of the backends usable in this process, best first. */
export function availableBackends(): BackendName[] {
  return PROVIDERS.filter((p) => p.unavailableReason() === undefined).map((p) =>
    p.name
  );
}
