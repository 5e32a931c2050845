/**
 * Soak test: a long run of mixed random operations on every backend, every byte
 * read checked against a model of the file, while memory (RSS), file
 * descriptors, native AIO contexts (`/proc/sys/fs/aio-nr`) and kernel rings are
 * sampled: at the end they must be flat. It takes minutes per backend and is not
 * part of CI (a short run, `--ops=2000`, is a smoke test).
 *
 * ```sh
 * deno run --allow-all bench/soak.ts [--ops=N] [--backend=NAME] [--seed=S] [--no-results]
 * ```
 *
 * - `--ops=N`: operations per backend, default 1 000 000. One operation is one
 *   `AIOFile` call (`read`, `write`, `truncate`, `size`, `fsync`, `fdsync`).
 * - `--backend=NAME`: that backend only (it must be available here). By default
 *   every backend runs in turn; those unavailable here are listed as skipped,
 *   with the reason.
 * - `--seed=S`: the PRNG seed (decimal or `0x` hex), default `0x5eed`. The same
 *   seed and `--ops` replay the same operations on any backend, so the command
 *   printed with a failure reproduces it.
 * - `--no-results`: do not write the summary into `bench/RESULTS.md`. Otherwise
 *   it replaces what is between `<!-- soak:start -->` and `<!-- soak:end -->`
 *   there (the file is made, or the section appended, when missing); nothing
 *   else in the file changes.
 *
 * The exit code is 1 when a byte differed from the model, an operation failed,
 * something leaked, or the backend asked for is unavailable; 2 for a bad flag.
 *
 * The details are in the modules of `bench/soak/`, each with its part of the
 * method in its doc comment:
 *
 * - `run_backend.ts`: one backend, from its data file to its result;
 *   `backend_soak.ts`: its context, file, batches, reopening and resource checks.
 * - `operations.ts`: the operations and how often each is drawn, by the PRNG of
 *   `random.ts`; `batches.ts`: how they are batched (up to 32 in flight) so
 *   that the outcome does not depend on the order of completion.
 * - `model.ts`: what the file must hold; `verify.ts`: running a batch and
 *   checking every result against the model.
 * - `usage.ts`: sampling RSS, fds, `aio-nr` and ring mappings; `samples.ts`:
 *   the samples over a run; `leaks.ts`: the verdicts (what leaked or grew).
 * - `summary.ts`: the tables; `results_section.ts`: the section of
 *   `bench/RESULTS.md`; `progress.ts`: the progress line on stderr.
 * - `options.ts`: the flags; `format.ts`: how figures are written.
 *
 * @module
 */

import { BACKEND_NAMES } from "../impl/backend.ts";
import { unavailableReason } from "../impl/providers.ts";
import { count, hex, message } from "./soak/format.ts";
import { type Options, parseOptions, USAGE } from "./soak/options.ts";
import { Progress } from "./soak/progress.ts";
import { resultsSection, writeResults } from "./soak/results_section.ts";
import { type BackendResult, soakBackend } from "./soak/run_backend.ts";
import { mixTable, notes, problemLines, resultTable } from "./soak/summary.ts";
import { runtimeStarted } from "./soak/usage.ts";

export { withSoakSection } from "./soak/results_section.ts";

/** Runs every backend asked for (or skips it); returns the exit code. */
async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error(`${message(error)}\n${USAGE}`);
    return 2;
  }
  const progress = new Progress();
  progress.line(
    `soak: ${count(options.ops)} operations per backend, seed ${
      hex(options.seed)
    }`,
  );
  await runtimeStarted();
  const results: BackendResult[] = [];
  for (const backend of options.only ? [options.only] : BACKEND_NAMES) {
    const reason = unavailableReason(backend);
    if (reason === undefined) {
      results.push(await soakBackend(backend, options, progress));
      continue;
    }
    progress.line(`[${backend}] skipped: ${reason}`);
    results.push({
      backend,
      skipped: reason,
      problems: options.only ? ["the backend asked for is unavailable"] : [],
    });
  }
  console.log(
    [...resultTable(results), "", ...mixTable(results), "", ...notes(options)]
      .join("\n"),
  );
  const problems = problemLines(results);
  console.log(
    problems.length === 0
      ? "\nverdict: pass (every byte matched, nothing failed, all flat)"
      : `\nverdict: FAIL\n${problems.map((p) => `- ${p}`).join("\n")}`,
  );
  if (options.results) {
    try {
      console.error(
        `summary written to ${await writeResults(
          resultsSection(options, results),
        )}`,
      );
    } catch (error) {
      console.error(`could not write bench/RESULTS.md: ${message(error)}`);
      return 1;
    }
  }
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
