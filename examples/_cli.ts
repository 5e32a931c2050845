/**
 * What the examples share as command-line tools, so each of them reads as its
 * own logic. Not a program: the examples import it.
 *
 * - `--help` or `-h` (anywhere before `--`) prints the usage to stdout and
 *   exits 0; so does no argument at all, unless the example runs without one.
 * - A mistake in the command line (an unknown option, a bad value, a missing
 *   or extra argument) or a path that does not exist or is a directory prints
 *   one line, `NAME: what is wrong`, then the usage, to stderr and exits 2.
 * - Any other failure prints one line to stderr and exits 1; a closed standard
 *   output (`... | head`) ends the program quietly. Never a stack trace.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** A mistake in the command line: reported with the usage, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The options an example takes, as `node:util`'s `parseArgs` describes them. */
export type Options = NonNullable<ParseArgsConfig["options"]>;

/** What `parseArgs` makes of the command line for the given options. */
export type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

/** How an example is called. */
export interface Command<O extends Options> {
  /** The usage text: a first line `usage: NAME ...`, then what each part means. */
  usage: string;
  /** Its options (`--name=value`, `--flag`). */
  options: O;
  /** How many positional arguments it takes, at least and at most. */
  positionals: { min: number; max: number };
  /** Whether it runs with no argument at all (otherwise that prints the usage). */
  runsWithoutArguments?: boolean;
}

/** Errors that mean the user named a path that cannot be what it should be. */
const BAD_PATH_ERRORS = [
  Deno.errors.NotFound,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
];

/** The file name of the program being run, for messages. */
function programName(): string {
  return decodeURIComponent(new URL(Deno.mainModule).pathname)
    .split("/").at(-1)!;
}

/** Whether the command line asks for help (before any `--`). */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) =>
    arg === "--help" || arg === "-h"
  );
}

/** The command line parsed against `command`, or a {@linkcode UsageError}. */
function parse<O extends Options>(
  command: Command<O>,
  args: string[],
): Parsed<O> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({
      args,
      options: command.options,
      allowPositionals: true,
      strict: true,
    }) as Parsed<O>;
  } catch (error) {
    // parseArgs explains itself in several sentences: the first one suffices.
    const message = (error as Error).message.split(/\. |\n/)[0];
    throw new UsageError(message);
  }
  const count = parsed.positionals.length;
  const { min, max } = command.positionals;
  if (count < min) throw new UsageError("missing argument");
  if (count > max) {
    throw new UsageError(
      `unexpected argument '${parsed.positionals[max]}'`,
    );
  }
  return parsed;
}

/** The first line of an error's message. */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}

/**
 * Runs an example's `main` with its parsed command line, and turns what can go
 * wrong into a message and an exit status (see the module documentation).
 * The exit status is set with `Deno.exitCode`, so files still open close
 * normally.
 */
export async function runCommand<O extends Options>(
  command: Command<O>,
  main: (parsed: Parsed<O>) => Promise<void>,
  args: string[] = Deno.args,
): Promise<void> {
  const name = programName();
  if (
    asksForHelp(args) || (args.length === 0 && !command.runsWithoutArguments)
  ) {
    console.log(command.usage.trimEnd());
    return;
  }
  try {
    await main(parse(command, args));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) return;
    const badArgument = error instanceof UsageError ||
      BAD_PATH_ERRORS.some((kind) => error instanceof kind);
    console.error(`${name}: ${oneLine(error)}`);
    if (badArgument) console.error(`\n${command.usage.trimEnd()}`);
    Deno.exitCode = badArgument ? 2 : 1;
  }
}

/**
 * A count of bytes written as digits with an optional binary suffix (`K`,
 * `M`, `G`, also `KiB`...), between 1 and `max`; a {@linkcode UsageError}
 * naming the option otherwise.
 */
export function parseByteCount(
  option: string,
  value: string,
  max: number,
): number {
  const match = /^(\d+)\s*(?:([KMG])(?:i?B)?)?$/i.exec(value.trim());
  const scale = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };
  const bytes = match === null ? NaN : Number(match[1]) *
    scale[(match[2] ?? "").toUpperCase() as keyof typeof scale];
  if (!(bytes >= 1 && bytes <= max)) {
    throw new UsageError(
      `--${option} must be a number of bytes from 1 to ${max} (such as 65536 or 64K), not '${value}'`,
    );
  }
  return bytes;
}

/** A whole number between 1 and `max`; a {@linkcode UsageError} naming the option otherwise. */
export function parseCount(option: string, value: string, max: number): number {
  const count = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(count >= 1 && count <= max)) {
    throw new UsageError(
      `--${option} must be a whole number from 1 to ${max}, not '${value}'`,
    );
  }
  return count;
}

/**
 * Refuses (with a {@linkcode UsageError}) an output that is the input itself,
 * under another name or not: writing it would destroy the input before it is
 * read. An output that does not exist yet is fine.
 */
export async function refuseSameFile(
  input: string,
  output: string,
): Promise<void> {
  let out: Deno.FileInfo;
  try {
    out = await Deno.stat(output);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const inp = await Deno.stat(input);
  if (inp.dev === out.dev && inp.ino !== null && inp.ino === out.ino) {
    throw new UsageError(
      `'${output}' is the input file '${input}': refusing to overwrite it`,
    );
  }
}
