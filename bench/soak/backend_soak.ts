/**
 * The operations of one backend's soak run: its context and data file, the
 * batches, reopening, samples, and the checks of its resources.
 *
 * **Reopening.** Every 2% of the run (at most every 20 000 operations) the file
 * is closed, opened again (`r+b`) and read whole against the model; every fifth
 * time the context is closed too and a new one made, so that every leak of an
 * fd, AIO context or ring adds up.
 *
 * @module
 */

import { AIOFile, type Context, createContext } from "../../mod.ts";
import type { BackendName } from "../../impl/backend.ts";
import { DEFAULT_HANDLES_PER_FILE } from "../../impl/deno.ts";
import { Batcher, MAX_BATCH } from "./batches.ts";
import { count, message, mib } from "./format.ts";
import { growth, leaksAtClose, RSS_MIN_OPS } from "./leaks.ts";
import { writePool } from "./operations.ts";
import type { Options } from "./options.ts";
import type { Progress } from "./progress.ts";
import { Random } from "./random.ts";
import { Samples } from "./samples.ts";
import { settledUsage, type Usage, usage } from "./usage.ts";
import { type Counts, SoakFailure, type SoakFile, Verifier } from "./verify.ts";

/** The file is reopened every this part of the run, ... */
const REOPEN_SHARE = 0.02;
/** ...but at most this many operations apart... */
const REOPEN_MAX = 20_000;
/** ...and at least this many. */
const REOPEN_MIN = 100;
/** Every this many reopens, the context is closed and a new one made. */
const REOPENS_PER_CONTEXT = 5;

/** The run of one backend: its context, file, model and counts. */
export class BackendSoak {
  /** The samples of the process's resources, every 1% of the run. */
  readonly samples: Samples;
  /** Resource problems, each kind reported once. */
  readonly leaks = new Map<string, string>();
  /** Resources at the end of the run, before the file and context are closed. */
  end: Usage | undefined;
  /** The operations run so far. */
  done = 0;
  readonly #name: BackendName;
  readonly #options: Options;
  readonly #path: string;
  readonly #realPath: string;
  readonly #before: Usage;
  readonly #progress: Progress;
  readonly #verifier: Verifier;
  readonly #batcher: Batcher;
  readonly #reopenEvery: number;
  readonly #started = performance.now();
  #finished: number | undefined;
  #nextReopen: number;
  /** The last tenth of the run reported as a milestone. */
  #tenth = 0;
  #context: Context | undefined;
  #file: SoakFile | undefined;

  /**
   * `path` is the data file, `realPath` the same with symbolic links resolved
   * (as `/proc/self/fd` shows it); `before` is the sample from before the
   * backend's context was made.
   */
  constructor(
    name: BackendName,
    options: Options,
    path: string,
    realPath: string,
    before: Usage,
    progress: Progress,
  ) {
    this.#name = name;
    this.#options = options;
    this.#path = path;
    this.#realPath = realPath;
    this.#before = before;
    this.#progress = progress;
    this.samples = new Samples(options.ops);
    const random = new Random(options.seed);
    this.#verifier = new Verifier(writePool(random));
    this.#batcher = new Batcher(random, this.#verifier.model);
    this.#reopenEvery = Math.min(
      REOPEN_MAX,
      Math.max(REOPEN_MIN, Math.round(options.ops * REOPEN_SHARE)),
    );
    this.#nextReopen = this.#reopenEvery;
  }

  /** What ran so far. */
  get counts(): Counts {
    return this.#verifier.counts;
  }

  /** The seconds the operations took (reopening and checking the file included). */
  get seconds(): number {
    return ((this.#finished ?? performance.now()) - this.#started) / 1000;
  }

  /** Runs every operation; throws {@linkcode SoakFailure} at the first failure. */
  async run(): Promise<void> {
    this.#context = this.#newContext();
    await this.#open("w+b");
    const total = this.#options.ops;
    while (this.done < total) {
      const ops = this.#batcher.next(Math.min(MAX_BATCH, total - this.done));
      await this.#verifier.runBatch(this.#file!, ops, this.done);
      this.done += ops.length;
      await this.#between();
    }
    this.#finished = performance.now();
    await this.#checkFlat();
    await this.#reopen(true);
  }

  /** Compares the end of the run (file and context still open) with the sample after warm-up. */
  async #checkFlat(): Promise<void> {
    const warm = this.samples.warm;
    if (warm === undefined) return;
    this.end = await settledUsage(this.#realPath, warm);
    const handles = this.#name === "deno" ? DEFAULT_HANDLES_PER_FILE : 1;
    const rss = this.#options.ops >= RSS_MIN_OPS
      ? this.samples.rssLevels()
      : undefined;
    this.#leaks(growth(warm, this.end, handles, rss));
  }

  /** Closes the file and the context, whatever happened; then compares with before. */
  async release(): Promise<Usage> {
    const file = this.#file;
    const context = this.#context;
    this.#file = undefined;
    this.#context = undefined;
    const problems: string[] = [];
    await file?.close().catch((e) => problems.push(`close: ${message(e)}`));
    await context?.close().catch((e) =>
      problems.push(`context close: ${message(e)}`)
    );
    if (problems.length > 0) {
      throw new SoakFailure(problems.join("; "));
    }
    const after = await settledUsage(this.#realPath, this.#before);
    this.#leaks(leaksAtClose(this.#before, after, "after its context closed"));
    return after;
  }

  #newContext(): Context {
    this.counts.contexts++;
    return createContext({ backend: this.#name });
  }

  async #open(mode: "w+b" | "r+b"): Promise<void> {
    const file: SoakFile = await AIOFile.open(this.#path, mode, {
      context: this.#context,
    });
    this.#file = file;
    if (file.backend !== this.#name) {
      throw new SoakFailure(
        `the ${this.#name} context handed the data file to the ${file.backend} backend`,
      );
    }
  }

  /** Between batches: progress, samples, reopening. */
  async #between(): Promise<void> {
    this.#progress.update(this.#status());
    if (this.samples.due(this.done)) {
      this.samples.add(this.done, usage(this.#realPath));
      const tenth = Math.floor(this.done * 10 / this.#options.ops);
      if (tenth > this.#tenth) {
        this.#tenth = tenth;
        this.#progress.milestone(this.#status());
      }
    }
    if (this.done >= this.#nextReopen && this.done < this.#options.ops) {
      this.#nextReopen += this.#reopenEvery;
      const reopens = this.counts.reopens + 1;
      await this.#reopen(reopens % REOPENS_PER_CONTEXT === 0);
    }
  }

  /**
   * Closes the file (and with `newContext`, the context, then checks that
   * nothing is left of it), opens it again and checks all of it.
   */
  async #reopen(newContext: boolean): Promise<void> {
    this.counts.reopens++;
    await this.#file!.close();
    if (newContext) {
      await this.#context!.close();
      const after = await settledUsage(this.#realPath, this.#before);
      this.#leaks(
        leaksAtClose(
          this.#before,
          after,
          `after context ${this.counts.contexts} closed (${this.done} operations)`,
        ),
      );
      this.#context = this.#newContext();
    }
    await this.#open("r+b");
    await this.#verifier.checkWhole(this.#file!);
  }

  #leaks(found: string[]): void {
    for (const leak of found) {
      const kind = leak.slice(0, leak.indexOf(":"));
      if (!this.leaks.has(kind)) this.leaks.set(kind, leak);
    }
  }

  #status(): string {
    const last = this.samples.last;
    const percent = (this.done / this.#options.ops * 100).toFixed(0);
    const rate = this.done / this.seconds;
    const resources = last === undefined
      ? ""
      : `, RSS ${mib(last.rss)} MiB, ${last.fds.length} fds, aio-nr ${
        last.aioNr ?? "n/a"
      }`;
    return `[${this.#name}] ${percent.padStart(3)}% ${count(this.done)} ops, ${
      this.seconds.toFixed(1)
    } s, ${count(rate)} ops/s${resources}`;
  }
}
