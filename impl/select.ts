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
import { permanently, type Unavailable } from "./availability.ts";
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
 * The chain of providers that serve files, best first: starting at `first` when
 * given (which must be available), otherwise at the best one not unavailable
 * for good. Each file goes to the first provider in the chain that can serve
 * it. A provider failing for a transient reason (EMFILE, ENOMEM, EAGAIN) stays
 * in the chain: the context asks it again at a later open
 * ({@linkcode unavailabilityOf}) until it has made its backend.
 *
 * @throws {Deno.errors.NotSupported} when `first` is unavailable here; the
 * message says when that is temporary.
 */
export function providerChain(first?: BackendName): BackendProvider[] {
  if (first !== undefined) {
    const provider = PROVIDERS.find((p) => p.name === first);
    const unavailable = provider === undefined
      ? permanently("it is not implemented yet")
      : unavailabilityOf(provider);
    if (unavailable !== undefined) {
      const when = unavailable.permanent
        ? "unavailable"
        : "temporarily unavailable";
      throw new Deno.errors.NotSupported(
        `The "${first}" backend is ${when}: ${unavailable.reason}. Available here: ${
          availableBackends().join(", ")
        }`,
      );
    }
  }
  const start = first === undefined
    ? 0
    : PROVIDERS.findIndex((p) => p.name === first);
  return PROVIDERS.slice(start).filter((p) =>
    p.name === first || unavailabilityOf(p)?.permanent !== true
  );
}

/** The names of the backends usable in this process, best first. */
export function availableBackends(): BackendName[] {
  return PROVIDERS.filter((p) => p.unavailableReason() === undefined).map((p) =>
    p.name
  );
}
