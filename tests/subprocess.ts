/**
 * Runs a fixture of `tests/fixtures/` in a fresh `deno run` with exactly the
 * flags given (plus `--no-config --no-prompt`), no standard input, and an
 * environment without the library's own variables unless given.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A hang is the failure this guard catches; no test asserts timings otherwise. */
export const TIMEOUT_MS = 20_000;

/** What a subprocess did. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Options of {@linkcode runFixture}. */
export interface RunOptions {
  /** Arguments after the fixture's path. */
  args?: readonly string[];
  /** Environment variables for the child (`AIOFILE_*` are unset otherwise). */
  env?: Record<string, string | undefined>;
  /** Written to the child's standard input (a pipe), which is then closed; none otherwise. */
  stdin?: string;
}

/** Runs `fixtures/<name>` with `flags`. */
export async function runFixture(
  name: string,
  flags: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const env = Deno.env.toObject();
  delete env.AIOFILE_IMPL;
  delete env.AIOFILE_LIBAIO;
  env.NO_COLOR = "1";
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value !== undefined) env[key] = value;
  }
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-prompt",
      ...flags,
      decodeURIComponent(
        new URL(`./fixtures/${name}`, import.meta.url).pathname,
      ),
      ...(options.args ?? []),
    ],
    env,
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal,
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    timedOut: signal.aborted,
  };
}

/** Describes a run for an assertion message. */
export function show(result: RunResult): string {
  return `exit ${result.code}${result.timedOut ? " (timed out)" : ""}\n` +
    `--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

/** Checks that the run finished by itself with exit code 0 and never prompted. */
export function assertSucceeded(result: RunResult): void {
  assert.equal(result.timedOut, false, `the subprocess hung\n${show(result)}`);
  assert.equal(result.code, 0, show(result));
  assert.doesNotMatch(
    result.stderr,
    /requests? .* access|Granted|┏/,
    show(result),
  );
}

/** The JSON object printed on the last line of a successful run. */
// deno-lint-ignore no-explicit-any
export function report(result: RunResult): any {
  assertSucceeded(result);
  const lines = result.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    assert.fail(`no JSON report\n${show(result)}`);
  }
}
