/**
 * The samples of the process's resources over one backend's run (every 1% of
 * its operations), the sample after warm-up, and RSS levels as medians of
 * stretches of samples.
 *
 * @module
 */

import { spread } from "../results.ts";
import type { Usage } from "./usage.ts";

/** Resources are sampled this many times over the run. */
const SAMPLES = 100;
/** The part of the run after which resources must stay flat. */
const WARM_UP = 0.1;
/**
 * The part of the run whose RSS samples give RSS after warm-up (their median).
 * RSS takes longer than the rest to reach its working level: V8 grows its heap,
 * and malloc keeps the high-water mark of the buffers awaiting collection (on
 * the first backend of a run of 1 000 000 operations: 110 MiB at 1%, 176 MiB
 * over 10-30%, 199 MiB over 40-60%, 210 MiB at the end; the later backends
 * flat). A leak grows with the operations, so it shows over the second half too.
 */
const RSS_WARM_STRETCH = [0.4, 0.6] as const;
/** The part of the run whose RSS samples give RSS at the end (their median). */
const RSS_END_STRETCH = [0.8, 1] as const;

/** RSS after warm-up and at the end, each the median of a stretch of samples. */
export interface RssLevels {
  readonly warm: number;
  readonly end: number;
}

/** The samples of one backend's run, every 1% of its operations. */
export class Samples {
  readonly #total: number;
  readonly #list: { readonly ops: number; readonly usage: Usage }[] = [];
  #next = 1;

  /** @param total The operations of the run. */
  constructor(total: number) {
    this.#total = total;
  }

  /** Whether a sample is due after `done` operations. */
  due(done: number): boolean {
    return done >= Math.ceil(this.#next * this.#total / SAMPLES);
  }

  /** Records the sample taken after `done` operations. */
  add(done: number, usage: Usage): void {
    this.#list.push({ ops: done, usage });
    while (this.due(done) && this.#next <= SAMPLES) this.#next++;
  }

  /** The first sample after warm-up. */
  get warm(): Usage | undefined {
    return this.#list.find((s) => s.ops >= WARM_UP * this.#total)?.usage;
  }

  /** The latest sample. */
  get last(): Usage | undefined {
    return this.#list.at(-1)?.usage;
  }

  /** The highest RSS sampled (0 before the first sample). */
  get maxRss(): number {
    return Math.max(0, ...this.#list.map((s) => s.usage.rss));
  }

  /**
   * RSS after warm-up and at the end: the medians of the samples in
   * {@linkcode RSS_WARM_STRETCH} and {@linkcode RSS_END_STRETCH}, as RSS swings
   * with garbage collection (buffers of up to 16 MiB await it).
   */
  rssLevels(): RssLevels | undefined {
    const stretch = ([from, to]: readonly [number, number]) =>
      this.#list.filter((s) =>
        s.ops > from * this.#total && s.ops <= to * this.#total
      ).map((s) => s.usage.rss);
    const warm = stretch(RSS_WARM_STRETCH);
    const end = stretch(RSS_END_STRETCH);
    if (warm.length === 0 || end.length === 0) return undefined;
    return { warm: spread(warm).median, end: spread(end).median };
  }
}
