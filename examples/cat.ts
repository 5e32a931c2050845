/**
 * `cat`: prints files to standard output, line by line, byte for byte (any
 * encoding), as the file iterator of `asyncOpen` yields them. `-` or
 * `/dev/stdin` reads standard input.
 *
 *     usage: cat.ts FILE...
 *
 * Example:
 *
 *     deno run --allow-read examples/cat.ts README.md LICENSE
 *
 * @module
 */

import { asyncOpen } from "../mod.ts";
import { runCommand } from "./_cli.ts";

const usage = `usage: cat.ts FILE...

Prints each FILE to standard output, line by line. '-' is standard input.

example: deno run --allow-read examples/cat.ts README.md LICENSE
`;

/** Writes every line of every file in `paths` to `out`. */
export async function cat(
  paths: readonly string[],
  out: WritableStream<Uint8Array>,
): Promise<void> {
  const writer = out.getWriter();
  try {
    for (const path of paths) {
      await using file = await asyncOpen(
        path === "-" ? "/dev/stdin" : path,
        "rb",
      );
      for await (const line of file) await writer.write(line);
    }
  } finally {
    writer.releaseLock();
  }
}

if (import.meta.main) {
  await runCommand(
    { usage, options: {}, positionals: { min: 1, max: Infinity } },
    ({ positionals }) => cat(positionals, Deno.stdout.writable),
  );
}
