/**
 * The soak test's verdicts on resources: what did not come back when a context
 * was closed, and what grew between warm-up and the end of the run.
 *
 * RSS, open fds (`/proc/self/fd`), `aio-nr` and the mappings of io_uring and
 * AIO rings (`/proc/self/maps`) are sampled every 1% of the run. Whenever the
 * backend's context is closed, the fds and ring mappings must be back to their
 * values from before the backend started (exactly: fewer fds would mean one
 * closed twice), `aio-nr` must not be above its value then, and no FFI call may
 * be left on Deno's thread pool. At the end of the run, with the file still
 * open, the same holds against the sample after warm-up (the first 10%), the
 * data file's own fds apart (the `deno` backend keeps up to 8). RSS settles
 * later and swings with garbage collection: its levels after warm-up and at the
 * end are the medians of the samples over 40-60% and 80-100% of the run (see
 * `RSS_WARM_STRETCH` in `samples.ts`), and the end may be at most 10% + 16 MiB
 * higher, on runs of 500 000 operations or more (shorter ones end before RSS
 * settles). `aio-nr` counts the whole machine: a rise counts once it has lasted
 * 2 s, in case another process was using native AIO. The first backend starts
 * 1 s after the process does, because Deno sets up its signal handling (a
 * socket pair and a thread) about 0.5 s after start.
 *
 * @module
 */

import { pendingForeignCalls } from "../../impl/pending.ts";
import { MiB, mib } from "./format.ts";
import type { RssLevels } from "./samples.ts";
import { above, type Usage } from "./usage.ts";

/** RSS is judged only on runs this long: shorter ones end before it settles. */
export const RSS_MIN_OPS = 500_000;
/** RSS at the end may exceed RSS after warm-up by this share... */
const RSS_SLACK_SHARE = 0.1;
/** ...plus this many bytes. */
const RSS_SLACK_BYTES = 16 * MiB;

/** The fds in `after` and not in `before` (or the reverse), for a message. */
function fdDifference(before: Usage, after: Usage): string {
  const count = (list: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const target of list) {
      counts.set(target, (counts.get(target) ?? 0) + 1);
    }
    return counts;
  };
  const [was, is] = [count(before.fds), count(after.fds)];
  const changes: string[] = [];
  for (const target of new Set([...was.keys(), ...is.keys()])) {
    const delta = (is.get(target) ?? 0) - (was.get(target) ?? 0);
    if (delta !== 0) changes.push(`${delta > 0 ? "+" : ""}${delta} ${target}`);
  }
  return changes.join(", ");
}

/**
 * What did not come back once every context of the backend is closed. Fds and
 * ring mappings belong to this process and must be exactly as before (fewer fds
 * would mean an fd closed twice); `aio-nr` counts the machine, so only a rise
 * counts.
 */
export function leaksAtClose(
  before: Usage,
  after: Usage,
  when: string,
): string[] {
  const leaks: string[] = [];
  if (after.fds.length !== before.fds.length) {
    leaks.push(
      `fds: ${before.fds.length} before the backend started, ${after.fds.length} ${when} (${
        fdDifference(before, after)
      })`,
    );
  }
  if (above(after.aioNr, before.aioNr)) {
    leaks.push(
      `aio-nr (machine-wide): ${before.aioNr} before the backend started, ${after.aioNr} ${when}`,
    );
  }
  if (after.rings !== before.rings) {
    leaks.push(
      `ring mappings: ${before.rings} before the backend started, ${after.rings} ${when}`,
    );
  }
  const calls = pendingForeignCalls();
  if (calls !== 0) {
    leaks.push(`FFI calls: ${calls} left on Deno's thread pool ${when}`);
  }
  return leaks;
}

/**
 * `warm`, as it would have been had the `uring` backend's relay wake loaded
 * by then, when it loaded after it: the relay loads after the backend's
 * first wakes (impl/uring_relay_lazy.ts) and is the backend's until it
 * closes, with one ring (its fd and two mappings) and a pipe (two fds).
 */
function withRelayOf(warm: Usage, end: Usage): Usage {
  const count = (u: Usage, re: RegExp) =>
    u.fds.filter((target) => re.test(target)).length;
  const ring = /^anon_inode:\[io_uring\]$/;
  const pipe = /^pipe:/;
  const relayLoaded = count(end, ring) === count(warm, ring) + 1 &&
    count(end, pipe) === count(warm, pipe) + 2 && end.rings === warm.rings + 2;
  if (!relayLoaded) return warm;
  const relayFds = end.fds.filter((t) => ring.test(t) || pipe.test(t)).filter(
    (t, i, all) => all.indexOf(t) === i,
  );
  const added = [
    relayFds.find((t) => ring.test(t))!,
    ...end.fds.filter((t) => pipe.test(t) && !warm.fds.includes(t)).slice(0, 2),
  ];
  return { ...warm, fds: [...warm.fds, ...added], rings: warm.rings + 2 };
}

/**
 * What grew between the sample after warm-up and the one at the end (the file
 * and its context open in both). `handles` is the most fds the backend may hold
 * on the data file; `rss` is left out for runs too short to judge it.
 */
export function growth(
  warmSample: Usage,
  end: Usage,
  handles: number,
  rss: RssLevels | undefined,
): string[] {
  const warm = withRelayOf(warmSample, end);
  const grown: string[] = [];
  const others = (u: Usage) => u.fds.length - u.fileFds;
  if (others(end) !== others(warm)) {
    grown.push(
      `fds other than the data file's: ${others(warm)} after warm-up, ${
        others(end)
      } at the end (${fdDifference(warm, end)})`,
    );
  }
  if (end.fileFds > handles) {
    grown.push(
      `data file fds: ${end.fileFds} at the end, at most ${handles} expected`,
    );
  }
  if (above(end.aioNr, warm.aioNr)) {
    grown.push(
      `aio-nr (machine-wide): ${warm.aioNr} after warm-up, ${end.aioNr} at the end`,
    );
  }
  if (end.rings !== warm.rings) {
    grown.push(
      `ring mappings: ${warm.rings} after warm-up, ${end.rings} at the end`,
    );
  }
  const bound = rss && rss.warm * (1 + RSS_SLACK_SHARE) + RSS_SLACK_BYTES;
  if (rss !== undefined && rss.end > bound!) {
    grown.push(
      `RSS: ${mib(rss.warm)} MiB after warm-up, ${
        mib(rss.end)
      } MiB at the end (medians; bound ${mib(bound!)} MiB)`,
    );
  }
  return grown;
}
