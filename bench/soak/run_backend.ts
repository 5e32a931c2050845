/**
 * The soak test of one backend, from its data file to its result.
 *
 * Each backend gets its own context, a data file `bench/data/soak-<backend>.bin`
 * (opened `w+b`; removed afterwards unless the backend failed) and a model: the
 * bytes the file must hold and its length.
 *
 * @module
 */

import type { BackendName } from "../../impl/backend.ts";
import { dataDir } from "../common.ts";
import { BackendSoak } from "./backend_soak.ts";
import { count, message } from "./format.ts";
import { type Options, reproduce } from "./options.ts";
import type { Progress } from "./progress.ts";
import type { RssLevels } from "./samples.ts";
import { type Usage, usage } from "./usage.ts";
import { type Counts, SoakFailure } from "./verify.ts";

/** The outcome of one backend. */
export interface BackendResult {
  readonly backend: BackendName;
  /** Why it did not run. */
  readonly skipped?: string;
  readonly ops?: number;
  readonly seconds?: number;
  readonly counts?: Counts;
  readonly before?: Usage;
  readonly warm?: Usage;
  readonly end?: Usage;
  readonly closed?: Usage;
  /** RSS after warm-up and at the end (medians). */
  readonly rss?: RssLevels;
  readonly maxRss?: number;
  /** Empty when the backend passed. */
  readonly problems: string[];
}

/** Runs the soak test on backend `name` (available here), reporting on `progress`. */
export async function soakBackend(
  name: BackendName,
  options: Options,
  progress: Progress,
): Promise<BackendResult> {
  const dir = dataDir();
  const path = `${dir}soak-${name}.bin`;
  const realPath = `${Deno.realPathSync(dir)}/soak-${name}.bin`;
  const before = usage(realPath);
  const soak = new BackendSoak(name, options, path, realPath, before, progress);
  const problems: string[] = [];
  try {
    await soak.run();
  } catch (error) {
    problems.push(failureText(error));
  }
  let closed: Usage | undefined;
  try {
    closed = await soak.release();
  } catch (error) {
    problems.push(failureText(error));
  }
  const seconds = soak.seconds;
  problems.push(...soak.leaks.values());
  if (problems.length === 0) {
    await Deno.remove(path).catch(() => {});
  } else {
    problems.push(
      `data file kept: ${path}; reproduce: ${reproduce(options, name)}`,
    );
  }
  progress.line(
    `[${name}] ${problems.length === 0 ? "ok" : "FAILED"}: ${
      count(soak.done)
    } ops in ${seconds.toFixed(1)} s`,
  );
  for (const problem of problems) progress.line(`  ${problem}`);
  return {
    backend: name,
    ops: soak.done,
    seconds,
    counts: soak.counts,
    before,
    warm: soak.samples.warm,
    end: soak.end,
    closed,
    rss: soak.samples.rssLevels(),
    maxRss: soak.samples.maxRss,
    problems,
  };
}

function failureText(error: unknown): string {
  if (error instanceof SoakFailure) return error.message;
  return `unexpected error: ${
    error instanceof Error ? error.stack ?? message(error) : String(error)
  }`;
}
