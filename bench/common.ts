/**
 * Shared pieces of the benchmarks: the data file, keeping it in the page cache,
 * and random 4 KiB-aligned offsets. Not a bench module itself (its name does not
 * end in `.bench.ts`), so `deno bench bench/` does not run it.
 *
 * The kernel on the machines this library is measured on evicts page cache that
 * has not been used for about a minute, so files are read fully right before
 * they are measured, and again at the first (warmup, unmeasured) call of a bench
 * when the last full read is older than {@linkcode STALE_MS}.
 *
 * @module
 */

/** The size of one request, in bytes. */
export const BLOCK = 4096;

/** Re-read the file at a bench's first call when the last full read is older. */
export const STALE_MS = 20_000;

/** The default size of the data file, in MiB. */
export const DEFAULT_MIB = 256;

/**
 * A positive integer from the environment variable `name`, or `fallback` when it
 * is unset. Read only when env permission is already granted, so nothing prompts.
 */
export function positiveIntFromEnv(name: string, fallback: number): number {
  const permission = Deno.permissions.querySync({
    name: "env",
    variable: name,
  });
  const raw = permission.state === "granted" ? Deno.env.get(name) : undefined;
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `${name} must be a positive integer, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** The size of the data file in bytes: `AIOFILE_BENCH_MIB` MiB (default {@linkcode DEFAULT_MIB}). */
export function benchBytes(): number {
  return positiveIntFromEnv("AIOFILE_BENCH_MIB", DEFAULT_MIB) * 1024 * 1024;
}

/** `bench/data/` (gitignored), created when missing. */
export function dataDir(): string {
  const dir = decodeURIComponent(new URL("./data/", import.meta.url).pathname);
  Deno.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The path of the read benchmarks' data file of `bytes` bytes. */
export function readFilePath(bytes: number): string {
  return `${dataDir()}read-${bytes / (1024 * 1024)}MiB.bin`;
}

/** Creates `path` with `bytes` bytes of random data unless it already has that size. */
export function ensureDataFile(path: string, bytes: number): void {
  try {
    if (Deno.statSync(path).size === bytes) return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const chunk = new Uint8Array(1024 * 1024);
  for (let i = 0; i < chunk.length; i += 65536) {
    crypto.getRandomValues(chunk.subarray(i, i + 65536));
  }
  using file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  for (let done = 0; done < bytes;) {
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - done));
    done += file.writeSync(piece);
  }
  file.syncSync();
}

const lastWarm = new Map<string, number>();

/** Reads `path` fully so that it is in the page cache; returns the milliseconds it took. */
export function warm(path: string): number {
  const started = performance.now();
  const buffer = new Uint8Array(1024 * 1024);
  using file = Deno.openSync(path, { read: true });
  while (file.readSync(buffer) !== null) {
    // reading is the point
  }
  const now = performance.now();
  lastWarm.set(path, now);
  return now - started;
}

/** Reads `path` fully again when its last full read is older than {@linkcode STALE_MS}. */
export function warmIfStale(path: string): void {
  const last = lastWarm.get(path);
  if (last === undefined || performance.now() - last > STALE_MS) warm(path);
}

/**
 * Makes the function given to `Deno.bench`. It is an `async` function on
 * purpose: `deno bench` awaits a bench function only when it is one (it checks
 * the constructor), and a plain function returning a promise would be timed
 * without waiting for the I/O.
 *
 * When `path` is given, the first call (always a warmup call, which `deno bench`
 * does not measure) re-reads `path` into the page cache if needed.
 */
export function benchFn(
  path: string | undefined,
  fn: () => Promise<void>,
): () => Promise<void> {
  let first = path !== undefined;
  return async () => {
    if (first) {
      first = false;
      warmIfStale(path!);
    }
    await fn();
  };
}

/**
 * An endless sequence of random `BLOCK`-aligned offsets inside a file of
 * `bytes` bytes, the same sequence on every run (a fixed-seed xorshift).
 */
export class Offsets {
  readonly #table: Float64Array;
  #next = 0;

  /** @param bytes The file size; at least one `BLOCK`. */
  constructor(bytes: number, seed = 0x9e3779b9) {
    const blocks = Math.floor(bytes / BLOCK);
    if (blocks < 1) {
      throw new RangeError(`a file of ${bytes} bytes is too small`);
    }
    this.#table = new Float64Array(65536);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < this.#table.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      this.#table[i] = (x % blocks) * BLOCK;
    }
  }

  /** The next offset. */
  next(): number {
    const offset = this.#table[this.#next];
    this.#next = (this.#next + 1) & 0xffff;
    return offset;
  }
}

/** Throws unless a request moved exactly one block (a bench must not time failures). */
export function expectBlock(n: number | null, what: string): void {
  if (n !== BLOCK) {
    throw new Error(`${what} moved ${n} bytes, expected ${BLOCK}`);
  }
}

/** Runs `count` requests at once, each given its slot number; resolves when all are done. */
export function batch(
  count: number,
  request: (slot: number) => Promise<void>,
): Promise<void> {
  const all = new Array<Promise<void>>(count);
  for (let i = 0; i < count; i++) all[i] = request(i);
  return Promise.all(all).then(done);
}

function done(): void {}

/** The length of each line of the text file made by {@linkcode ensureLinesFile}, "\n" included. */
export const LINE = 100;

/**
 * The path of a text file of `bytes` bytes in lines of {@linkcode LINE} bytes
 * (99 characters and "\n") in `bench/data/`, made unless it already has that
 * size. It holds `Math.ceil(bytes / LINE)` lines.
 */
export function ensureLinesFile(bytes: number): string {
  const path = `${dataDir()}lines-${bytes / 2 ** 20}MiB.txt`;
  try {
    if (Deno.statSync(path).size === bytes) return path;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const block = new TextEncoder().encode(
    Array.from(
      { length: 1024 * 1024 / LINE },
      (_, i) => `line ${i} `.padEnd(LINE - 1, "abcdefghij") + "\n",
    ).join(""),
  );
  using file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  for (let done = 0; done < bytes;) {
    done += file.writeSync(
      block.subarray(0, Math.min(block.length, bytes - done)),
    );
  }
  return path;
}
