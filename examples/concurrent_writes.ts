/**
 * Many writes in flight at once on one file, each at its own offset, with the
 * low-level `AIOFile` API (positional, no file pointer); then one read checks
 * that every line landed in its place. The file written is the one named on
 * the command line, created or overwritten.
 *
 *     usage: concurrent_writes.ts [--count=N] OUTPUT
 *
 * Example:
 *
 *     deno run --allow-read --allow-write examples/concurrent_writes.ts --count=1000 /tmp/lines.txt
 *
 * @module
 */

import { AIOFile } from "../mod.ts";
import { parseCount, runCommand } from "./_cli.ts";

const usage = `usage: concurrent_writes.ts [--count=N] OUTPUT

Writes N numbered lines to OUTPUT (created or overwritten), all N writes in
flight at once, each at its own offset; then reads OUTPUT back and checks it.

  --count=N  how many lines, from 1 to 100000 (default 10)

example: deno run --allow-read --allow-write examples/concurrent_writes.ts --count=1000 /tmp/lines.txt
`;

/** Line `i` of `count`: all lines are the same length, so line i is at i * length. */
export function numberedLine(i: number, count: number): string {
  return `${String(i + 1).padStart(String(count).length, "0")} Hello world\n`;
}

if (import.meta.main) {
  await runCommand({
    usage,
    options: { count: { type: "string", default: "10" } },
    positionals: { min: 1, max: 1 },
  }, async ({ values, positionals: [path] }) => {
    const count = parseCount("count", values.count!, 100_000);
    const length = numberedLine(0, count).length;
    await using afp = await AIOFile.open(path, "w+");
    // The writes go out in reverse order: their offsets alone put them in place.
    await Promise.all(
      Array.from({ length: count }, (_, k) => {
        const i = count - 1 - k;
        return afp.write(numberedLine(i, count), i * length);
      }),
    );
    await afp.fsync();
    const expected = Array.from(
      { length: count },
      (_, i) => numberedLine(i, count),
    )
      .join("");
    if (await afp.read() !== expected) {
      throw new Error(`${path}: the lines are not where they were written`);
    }
    console.log(
      `${path}: ${count} concurrent writes by the ${afp.backend} backend, all in place`,
    );
  });
}
