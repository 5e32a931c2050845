/**
 * What the process holds at one moment: RSS, open fds, the machine's native
 * AIO contexts (`/proc/sys/fs/aio-nr`) and the mappings of kernel rings.
 *
 * @module
 */

/** What the process holds at one moment. */
export interface Usage {
  readonly rss: number;
  /** The targets of the open fds (`/proc/self/fd`) but sockets, the directory's own included. */
  readonly fds: readonly string[];
  /** How many of them are the data file. */
  readonly fileFds: number;
  /** `/proc/sys/fs/aio-nr`, undefined when it cannot be read. */
  readonly aioNr: number | undefined;
  /** Mappings of io_uring rings and AIO rings (`/proc/self/maps`). */
  readonly rings: number;
}

/** How long a difference in the machine-wide `aio-nr` must last to count. */
const AIO_SETTLE_MS = 2000;
/**
 * How long after start the runtime is left to finish starting before the first
 * sample: Deno 2.9 sets up its signal handling (a socket pair and a thread) about
 * 500 ms after start, whatever the script does.
 */
const RUNTIME_START_MS = 1000;

const RING_MAPPING = /anon_inode:\[io_uring\]|\/\[aio\]/;

/**
 * The open fds but sockets: the library opens none, and the runtime opens its
 * own whenever it sets up signal handling, which would look like a leak.
 */
function openFds(): string[] {
  const targets: string[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      if (!target.startsWith("socket:")) targets.push(target);
    } catch {
      targets.push("?"); // the directory's own fd, closed by now
    }
  }
  return targets.sort();
}

function readAioNr(): number | undefined {
  try {
    return Number(Deno.readTextFileSync("/proc/sys/fs/aio-nr").trim());
  } catch {
    return undefined;
  }
}

function ringMappings(): number {
  return Deno.readTextFileSync("/proc/self/maps").split("\n")
    .filter((line) => RING_MAPPING.test(line)).length;
}

/** Samples the process; `dataPath` (a real path) names the data file. */
export function usage(dataPath: string): Usage {
  const fds = openFds();
  return {
    rss: Deno.memoryUsage().rss,
    fds,
    fileFds: fds.filter((target) => target === dataPath).length,
    aioNr: readAioNr(),
    rings: ringMappings(),
  };
}

/**
 * Like {@linkcode usage}, but while `aio-nr` is above `limit.aioNr` it is read
 * again for up to {@linkcode AIO_SETTLE_MS}: it counts the whole machine, and
 * another process may hold AIO contexts for a while.
 */
export async function settledUsage(
  dataPath: string,
  limit: Usage,
): Promise<Usage> {
  const now = usage(dataPath);
  let aioNr = now.aioNr;
  const deadline = performance.now() + AIO_SETTLE_MS;
  while (above(aioNr, limit.aioNr) && performance.now() < deadline) {
    await delay(100);
    aioNr = readAioNr();
  }
  return { ...now, aioNr };
}

/** Whether `value` is above `limit` (both known). */
export function above(
  value: number | undefined,
  limit: number | undefined,
): boolean {
  return value !== undefined && limit !== undefined && value > limit;
}

/** Resolves {@linkcode RUNTIME_START_MS} after the process started (at once if later). */
export async function runtimeStarted(): Promise<void> {
  while (performance.now() < RUNTIME_START_MS) await delay(50);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
