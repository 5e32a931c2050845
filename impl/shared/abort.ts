/**
 * `AbortSignal` support shared by the core and the backends, at the cost of
 * a set insertion per request: each signal gets one listener of the
 * library's, the first time it is seen, which runs the callbacks of the
 * requests still registered when it aborts. A request registers while it is
 * pending and unregisters when it settles; a signal that never aborts thus
 * keeps one listener however many requests it followed.
 *
 * @module
 */

/** The callbacks to run when each signal aborts, keyed weakly by the signal. */
const pending = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `callback` once, when `signal` aborts, unless the returned function is
 * called first. `signal` must not be aborted already (check it first), and
 * `callback` must be a function of this registration's own (a closure made
 * for it), since a callback registered twice runs once.
 */
export function whenAborted(
  signal: AbortSignal,
  callback: () => void,
): () => void {
  let callbacks = pending.get(signal);
  if (callbacks === undefined) {
    const all = callbacks = new Set();
    pending.set(signal, all);
    signal.addEventListener("abort", () => {
      const now = [...all];
      all.clear();
      for (const run of now) {
        // One callback's failure must not keep the others from running.
        try {
          run();
        } catch (error) {
          reportError(error);
        }
      }
    }, { once: true });
  }
  const registered = callbacks;
  registered.add(callback);
  return () => registered.delete(callback);
}

/**
 * Waits in `line`, a queue of wake-up calls that its owner calls in order,
 * until woken; when `signal` aborts first, leaves the line and rejects with
 * its reason. (Semaphore turns, ring slots.)
 */
export function waitInLine(
  line: (() => void)[],
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) {
    return new Promise((resolve) => line.push(resolve));
  }
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const forget = whenAborted(signal, () => {
      const at = line.indexOf(wake);
      if (at !== -1) line.splice(at, 1);
      reject(signal.reason);
    });
    const wake = () => {
      forget();
      resolve();
    };
    line.push(wake);
  });
}

/**
 * `promise`, or a rejection with `signal.reason` as soon as `signal` aborts,
 * whichever comes first; `promise` then runs on, and its outcome is dropped.
 * For operations that change nothing when they are left behind (reads into
 * the library's memory, syncs).
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const forget = whenAborted(signal, () => reject(signal.reason));
    promise.then(
      (value) => {
        forget();
        resolve(value);
      },
      (error) => {
        forget();
        reject(error);
      },
    );
  });
}

/**
 * The `signal` of an options argument (`{ signal }`), checked: a `TypeError`
 * for options that are not an object or a signal that is not an
 * `AbortSignal`.
 */
export function signalOf(
  options: { signal?: AbortSignal } | undefined,
): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `options must be an object such as { signal }, got ${String(options)}`,
    );
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `options.signal must be an AbortSignal, got ${String(signal)}`,
    );
  }
  return signal;
}
