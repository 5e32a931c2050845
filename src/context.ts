/**
 * Contexts: which backends serve files, and how many requests may be in flight.
 *
 * @module
 */

import type {
  Backend,
  BackendFile,
  BackendName,
  BackendProvider,
  OpenTarget,
} from "../impl/backend.ts";
import { BACKEND_NAMES, CannotServe } from "../impl/backend.ts";
import { openByDeno } from "../impl/deno.ts";
import {
  backendChain,
  isBackendName,
  knownUnavailability,
  loadedProvider,
  loadProvider,
  NotLoadedYet,
  unavailabilityOf,
  unavailableError,
} from "../impl/select.ts";
import { type QueueTuning, tuningWith } from "../impl/tuning.ts";
import { requireAccess } from "./permissions.ts";
import { Semaphore } from "../impl/shared/semaphore.ts";
import { checkPositive } from "./validate.ts";

/**
 * Options for {@linkcode createContext}.
 *
 * @example A context of the `deno` backend, 32 requests at a time
 * ```ts
 * import { createContext, type ContextOptions } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const options: ContextOptions = { backend: "deno", maxRequests: 32 };
 * await using context = createContext(options);
 * assert.equal(context.backend, "deno");
 * assert.equal(context.maxRequests, 32);
 * ```
 */
export interface ContextOptions {
  /**
   * The backend to use first: `"uring"`, `"linux"`, `"thread"` or `"deno"`. Files
   * it cannot serve (special files, for example) go to the next one. By default,
   * the best backend available. `AIOFILE_IMPL` does not affect an explicit context.
   */
  backend?: BackendName;
  /**
   * The most requests in flight at once; more wait their turn (backpressure),
   * they never fail. Default {@linkcode DEFAULT_MAX_REQUESTS}.
   */
  maxRequests?: number;
  /**
   * How the kernel-queue backends (`uring`, `linux`) of this context pace and
   * shape their work; each knob left out keeps its default
   * (`DEFAULT_TUNING`). The other backends ignore it.
   */
  tuning?: Partial<QueueTuning>;
}

/**
 * The default bound on requests in flight per context.
 *
 * @example The bound of a context made without one
 * ```ts
 * import { createContext, DEFAULT_MAX_REQUESTS } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using context = createContext();
 * assert.equal(context.maxRequests, DEFAULT_MAX_REQUESTS);
 * assert.equal(DEFAULT_MAX_REQUESTS, 128);
 * ```
 */
export const DEFAULT_MAX_REQUESTS = 128;

/** An open file of a context, as `AIOFile` sees it. */
export interface OpenedFile {
  /** The backend serving the file. */
  readonly backend: BackendName;
  /** The backend's file. */
  readonly file: BackendFile;
}

/**
 * What a file needs of its context (for the core: `src/open_file.ts`), given by
 * {@linkcode contextAccess}. Not exported from `mod.ts`.
 */
export interface ContextAccess {
  /** Opens a file through the context's backends. */
  open(target: OpenTarget): Promise<OpenedFile>;
  /**
   * Admits one operation of a file: throws `BadResource` once the context is
   * closing; `close()` waits until each admitted operation has left.
   */
  enter(): void;
  /** Ends an operation admitted by {@linkcode enter}. */
  leave(): void;
  /**
   * Runs one request to a backend, within an admitted operation, in turn:
   * at most `maxRequests` run at once. One still waiting for its turn when
   * `signal` aborts is dropped (it rejects with the signal's reason).
   */
  request<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * Takes a turn for a request now, if one is free (the caller then calls the
   * backend itself, saving the promise {@linkcode request} adds, and gives the
   * turn back with {@linkcode giveTurn} once it has settled); false when the
   * caller must go through {@linkcode request} and wait.
   */
  tryTakeTurn(): boolean;
  /** Gives back a turn taken by {@linkcode tryTakeTurn}. */
  giveTurn(): void;
}

/** Each context's {@linkcode ContextAccess}. */
const ACCESS = new WeakMap<Context, ContextAccess>();

/** What the files of `context` need of it (for the core). */
export function contextAccess(context: Context): ContextAccess {
  return ACCESS.get(context)!;
}

/**
 * A set of backends with a bound on requests in flight. Files opened with a
 * context send every request through it; {@linkcode Context.close} waits for them.
 *
 * In a Worker: `Worker.terminate()` does not close the worker's contexts (Deno
 * gives no hook), so their io_uring rings and AIO contexts (and the default
 * context's) stay open until the process exits. Close the files and the context
 * before the worker posts its last message, with `await using` as below.
 *
 * @example Use an explicit context for a group of files
 * ```ts
 * import { AIOFile, createContext } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * await using context = createContext({ backend: "deno", maxRequests: 8 });
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "w+", { context });
 * await afp.write("hello");
 * assert.equal(afp.backend, "deno");
 * ```
 *
 * @example In a Worker: everything is closed before the answer is posted
 * ```ts
 * import { AIOFile, createContext } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * async function work(path: string): Promise<number> {
 *   await using context = createContext();
 *   await using afp = await AIOFile.open(path, "w+", { context });
 *   return await afp.write("written in a worker");
 * } // the file, then the context, are closed here
 *
 * // In the worker: self.onmessage = async (e) => self.postMessage(await work(e.data));
 * assert.equal(await work(await Deno.makeTempFile()), 19);
 * ```
 */
export class Context implements AsyncDisposable {
  /**
   * The most requests in flight at once.
   *
   * @example More requests wait their turn; none fails
   * ```ts
   * import { AIOFile, createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using context = createContext({ maxRequests: 2 });
   * assert.equal(context.maxRequests, 2);
   * const path = await Deno.makeTempFile();
   * await using afp = await AIOFile.open(path, "w+", { context });
   * const writes = ["a", "b", "c", "d"].map((s, i) => afp.write(s, i));
   * assert.deepEqual(await Promise.all(writes), [1, 1, 1, 1]);
   * ```
   */
  readonly maxRequests: number;
  /** How this context's kernel queues work ({@linkcode ContextOptions.tuning}). */
  readonly tuning: QueueTuning;
  /** The backend asked for, if one was. */
  readonly #first: BackendName | undefined;
  readonly #backends = new Map<BackendName, Backend>();
  readonly #requests: Semaphore;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Makes a context; the same as {@linkcode createContext}. Nothing is loaded
   * or probed until the first file opens: a backend asked for that turns out
   * unusable then hands its files to the next one, as for any file it cannot
   * serve.
   *
   * @throws {Deno.errors.NotSupported} when the backend asked for is known to
   * be unavailable here (the wrong system, no FFI permission, or a probe made
   * earlier in this process: the message says why), or unavailable for now
   * (descriptors or memory running out: the message says it is temporary, and
   * a context made later tries again).
   * @throws {TypeError} for an unknown backend name.
   * @throws {RangeError} for a `maxRequests` below 1, or a tuning value out
   * of range.
   * @throws {TypeError} for an unknown tuning name or a value of the wrong type.
   */
  constructor(options: ContextOptions = {}) {
    const { backend, maxRequests = DEFAULT_MAX_REQUESTS } = options;
    if (backend !== undefined && !isBackendName(backend)) {
      throw new TypeError(
        `Unknown backend ${
          JSON.stringify(backend)
        }: use one of "uring", "linux", "thread", "deno"`,
      );
    }
    this.maxRequests = checkPositive("maxRequests", maxRequests);
    this.tuning = tuningWith(options.tuning);
    this.#requests = new Semaphore(this.maxRequests);
    if (backend !== undefined) {
      const unavailable = knownUnavailability(backend);
      if (unavailable !== undefined) {
        throw unavailableError(backend, unavailable);
      }
    }
    this.#first = backend;
    ACCESS.set(this, {
      open: (target) => this.#open(target),
      enter: () => this.#enter(),
      leave: () => this.#leave(),
      request: (request, signal) => this.#requests.run(request, signal),
      tryTakeTurn: () => this.#requests.tryTake(),
      giveTurn: () => this.#requests.give(),
    });
  }

  /**
   * The backend this context tries first: the one asked for, else the best
   * one not known to be unavailable (an FFI backend is probed when the first
   * file opens, so this may change then).
   *
   * @example The backend asked for, or the best one
   * ```ts
   * import { createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using deno = createContext({ backend: "deno" });
   * assert.equal(deno.backend, "deno");
   * await using best = createContext();
   * assert.ok(best.backends.includes(best.backend));
   * ```
   */
  get backend(): BackendName {
    return this.#first ??
      this.backends.find((name) => knownUnavailability(name) === undefined) ??
      "deno";
  }

  /**
   * Every backend this context may use, in the order it tries them.
   *
   * @example Every chain ends with `deno`
   * ```ts
   * import { createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using deno = createContext({ backend: "deno" });
   * assert.deepEqual(deno.backends, ["deno"]);
   * await using best = createContext();
   * assert.equal(best.backends.at(-1), "deno");
   * ```
   */
  get backends(): readonly BackendName[] {
    return backendChain(this.#first);
  }

  /**
   * Operations (opens, reads, writes, syncs, ...) running or waiting for a turn.
   *
   * @example Operations in flight are counted
   * ```ts
   * import { AIOFile, createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * await using context = createContext({ backend: "deno" });
   * const path = await Deno.makeTempFile();
   * await using afp = await AIOFile.open(path, "w+", { context });
   * const size = afp.size();
   * assert.equal(context.pending, 1);
   * await size;
   * assert.equal(context.pending, 0);
   * ```
   */
  get pending(): number {
    return this.#inFlight;
  }

  /**
   * Whether {@linkcode close} has been called.
   *
   * @example Closed from the call on
   * ```ts
   * import { createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const context = createContext();
   * assert.equal(context.closed, false);
   * const closing = context.close();
   * assert.equal(context.closed, true);
   * await closing;
   * ```
   */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Stops taking requests, waits for those in flight, then releases the
   * backends. Idempotent. A file whose `close()` was called before this
   * completes its close (its final sync included) first, so
   * `Promise.all([file.close(), context.close()])` is fine. Files opened
   * through this context reject later requests with `Deno.errors.BadResource`:
   * a file whose `close()` is called only after this cannot make its writes
   * durable, and its `close()` rejects with `BadResource` (its descriptor is
   * released all the same). `await using` closes files before their context.
   *
   * @example Close a file and its context together
   * ```ts
   * import { AIOFile, createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * const context = createContext({ backend: "deno" });
   * const path = await Deno.makeTempFile();
   * const afp = await AIOFile.open(path, "w", { context });
   * await afp.write("kept");
   * await Promise.all([afp.close(), context.close()]);
   * assert.equal(await Deno.readTextFile(path), "kept");
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#drain().then(async () => {
      for (const backend of this.#backends.values()) await backend.close();
      this.#backends.clear();
    });
    return this.#closing;
  }

  /**
   * Closes the context: `await using context = createContext()`.
   *
   * @example Closed at the end of the block, after its files
   * ```ts
   * import { AIOFile, Context, createContext } from "@aiofile/aiofile";
   * import assert from "node:assert/strict";
   *
   * let kept: Context;
   * {
   *   await using context = createContext();
   *   const path = await Deno.makeTempFile();
   *   await using afp = await AIOFile.open(path, "w", { context });
   *   await afp.write("data");
   *   kept = context;
   * }
   * assert.equal(kept.closed, true);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #drain(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained = resolve);
  }

  /**
   * Admits one operation (an open, a read, a write: possibly several requests).
   * Once `close()` has begun, new operations are refused, and those admitted
   * before run to the end. Each `#enter` is paired with one `#leave`.
   */
  #enter(): void {
    if (this.#closing !== undefined) {
      throw new Deno.errors.BadResource("The context is closed");
    }
    this.#inFlight++;
  }

  #leave(): void {
    if (--this.#inFlight === 0 && this.#drained !== undefined) {
      this.#drained();
      this.#drained = undefined;
    }
  }

  #backendFor(provider: BackendProvider): Backend {
    let backend = this.#backends.get(provider.name);
    if (backend === undefined) {
      backend = provider.create(this.tuning);
      this.#backends.set(provider.name, backend);
    }
    return backend;
  }

  async #open(target: OpenTarget): Promise<OpenedFile> {
    this.#enter();
    try {
      return await this.#openFirstServing(target);
    } finally {
      this.#leave();
    }
  }

  async #openFirstServing(asked: OpenTarget): Promise<OpenedFile> {
    let target = asked;
    if (target.kind === "path") {
      requireAccess(target.path, target.flags);
      // Opened once, by Deno (its permission checks, its errors): an FFI
      // backend opens the same file again and checks it is the same one.
      target = await openByDeno(target.path, target.flags);
    }
    try {
      return await this.#firstServing(target, (next) => target = next);
    } catch (error) {
      await closeUnserved(target);
      throw error;
    }
  }

  /**
   * Offers the open file to each backend of the chain in turn; `handedOn`
   * learns of an open that a backend made and handed to the next ones.
   */
  async #firstServing(
    target: OpenTarget,
    handedOn: (target: OpenTarget) => void,
  ): Promise<OpenedFile> {
    const refusals: string[] = [];
    const start = this.#first === undefined
      ? 0
      : BACKEND_NAMES.indexOf(this.#first);
    for (const name of BACKEND_NAMES.slice(start)) {
      if (loadedProvider(name) === undefined) {
        // Not loaded: loaded only if it may serve (never without FFI).
        const unavailable = knownUnavailability(name);
        if (unavailable !== undefined) {
          refusals.push(`${name}: ${unavailable.reason}`);
          continue;
        }
      }
      let provider: BackendProvider;
      try {
        provider = await loadProvider(name);
      } catch (error) {
        if (!(error instanceof NotLoadedYet)) throw error;
        refusals.push(`${name}: ${error.message}`);
        continue;
      }
      if (!this.#backends.has(provider.name)) {
        // Not made yet: it may have failed for a transient reason (EMFILE, ...)
        // when the chain was made or at the last open; asked again after the
        // backoff (impl/availability.ts), cheaply before it.
        const unavailable = unavailabilityOf(provider);
        if (unavailable !== undefined) {
          refusals.push(`${provider.name}: ${unavailable.reason}`);
          continue;
        }
      }
      const opening = target;
      try {
        const file = await this.#requests.run(() =>
          this.#backendFor(provider).open(opening)
        );
        return { backend: provider.name, file };
      } catch (error) {
        if (!(error instanceof CannotServe)) throw error;
        refusals.push(`${provider.name}: ${error.message}`);
        // The file is open already: the next backend serves that open.
        if (error.handoff !== undefined) handedOn(target = error.handoff);
      }
    }
    const name = target.kind === "fsfile" ? target.name : target.path;
    throw new Deno.errors.NotSupported(
      `No backend of this context can serve '${name}' (${refusals.join("; ")})`,
    );
  }
}

/**
 * Releases what the context opened for a file that no backend serves: Deno's
 * handle (unless a backend took it), or a descriptor handed on.
 */
async function closeUnserved(target: OpenTarget): Promise<void> {
  if (target.kind === "opened") target.release();
  else if (target.kind === "descriptor") await target.close();
}

/**
 * Makes a context with its own backends and bound on requests in flight.
 *
 * @example Serve a group of files with a backend of your choice
 * ```ts
 * import { AIOFile, createContext } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "some text");
 * await using context = createContext({ backend: "deno" });
 * await using afp = await AIOFile.open(path, "r", { context });
 * assert.equal(afp.backend, "deno");
 * assert.equal(await afp.read(), "some text");
 * ```
 *
 * @example Bound the requests in flight
 * ```ts
 * import { createContext } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * const context = createContext({ maxRequests: 4 });
 * assert.equal(context.maxRequests, 4);
 * await context.close();
 * assert.throws(() => createContext({ maxRequests: 0 }), RangeError);
 * ```
 */
export function createContext(options: ContextOptions = {}): Context {
  return new Context(options);
}

let shared: Context | undefined;

/**
 * The context shared by every file opened without one. It is made on first use:
 * the best backend available, or the one named by the `AIOFILE_IMPL` environment
 * variable (read only when env permission is already granted). It never keeps the
 * process alive once no request is in flight.
 *
 * @throws {TypeError} when `AIOFILE_IMPL` names no backend.
 * @throws {Deno.errors.NotSupported} when it names one that is unavailable here.
 *
 * @example Files opened without a context share it
 * ```ts
 * import { AIOFile, defaultContext } from "@aiofile/aiofile";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultContext(), defaultContext()); // made once
 * await using afp = await AIOFile.open(await Deno.makeTempFile(), "r");
 * assert.ok(defaultContext().backends.includes(afp.backend!));
 * console.log(`files go to the ${afp.backend} backend`);
 * ```
 */
export function defaultContext(): Context {
  if (shared === undefined || shared.closed) {
    shared = new Context({ backend: forcedBackend() });
  }
  return shared;
}

function forcedBackend(): BackendName | undefined {
  const permission = Deno.permissions.querySync({
    name: "env",
    variable: "AIOFILE_IMPL",
  });
  if (permission.state !== "granted") return undefined;
  const value = Deno.env.get("AIOFILE_IMPL");
  if (value === undefined || value === "") return undefined;
  if (!isBackendName(value)) {
    throw new TypeError(
      `AIOFILE_IMPL=${
        JSON.stringify(value)
      } names no backend: use one of "uring", "linux", "thread", "deno"`,
    );
  }
  return value;
}
