/**
 * The soak test's flags (see `bench/soak.ts`), and the command that replays
 * the run of one backend.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BACKEND_NAMES, type BackendName } from "../../impl/backend.ts";
import { isBackendName } from "../../impl/select.ts";
import { hex } from "./format.ts";

/** Operations per backend without `--ops`. */
const DEFAULT_OPS = 1_000_000;
/** The PRNG seed without `--seed`. */
const DEFAULT_SEED = 0x5eed;

/** What the flags asked for. */
export interface Options {
  readonly ops: number;
  readonly seed: number;
  /** The backend asked for with `--backend`, if any. */
  readonly only: BackendName | undefined;
  readonly results: boolean;
}

/** The usage line printed after a bad flag. */
export const USAGE =
  "usage: deno run --allow-all bench/soak.ts [--ops=N] [--backend=NAME] [--seed=S] [--no-results]";

/** Parses the flags; throws on an unknown or bad one. */
export function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      ops: { type: "string" },
      backend: { type: "string" },
      seed: { type: "string" },
      "no-results": { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  const ops = Number((values.ops ?? String(DEFAULT_OPS)).replaceAll("_", ""));
  if (!Number.isSafeInteger(ops) || ops < 1) {
    throw new RangeError(`--ops must be a positive integer, got ${values.ops}`);
  }
  const seed = Number(values.seed ?? DEFAULT_SEED);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(
      `--seed must be an integer from 0 to 0xffffffff, got ${values.seed}`,
    );
  }
  const only = values.backend;
  if (only !== undefined && !isBackendName(only)) {
    throw new TypeError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}, got ${only}`,
    );
  }
  return { ops, seed, only, results: !values["no-results"] };
}

/** The command that replays the run of one backend. */
export function reproduce(options: Options, backend: BackendName): string {
  return `deno run --allow-all bench/soak.ts --backend=${backend} --ops=${options.ops} --seed=${
    hex(options.seed)
  } --no-results`;
}
