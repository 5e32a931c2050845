/**
 * Copies `/proc/cpuinfo` line by line, once with an explicit `thread` context
 * (as one must with the original library, whose Linux AIO cannot read procfs),
 * and once with the default context, which hands such files to a backend that
 * can read them by itself. The copies go to the directory named, or to a
 * temporary directory removed at the end.
 *
 *     usage: cpuinfo.ts [DEST_DIR]
 *
 * Example (Deno 2.9 asks for `--allow-all` to open files in `/proc`):
 *
 *     deno run --allow-all examples/cpuinfo.ts /tmp
 *
 * @module
 */

import { asyncOpen, type Context, createContext } from "../mod.ts";
import { runCommand } from "./_cli.ts";

const usage = `usage: cpuinfo.ts [DEST_DIR]

Copies /proc/cpuinfo line by line to DEST_DIR/cpuinfo-thread (read with an
explicit thread context) and DEST_DIR/cpuinfo-default (the default context),
each created or overwritten. Without DEST_DIR the copies go to a temporary
directory removed at the end.

example: deno run --allow-all examples/cpuinfo.ts /tmp
`;

/** Copies `source` to `dest` line by line; prints and resolves to the line count. */
async function copyLines(
  source: string,
  dest: string,
  context?: Context,
): Promise<number> {
  await using src = await asyncOpen(source, "r", { context });
  await using dst = await asyncOpen(dest, "w");
  let lines = 0;
  for await (const line of src) {
    await dst.write(line);
    lines++;
  }
  console.log(`${dest}: ${lines} lines (read by ${src.file.backend})`);
  return lines;
}

if (import.meta.main) {
  await runCommand(
    {
      usage,
      options: {},
      positionals: { min: 0, max: 1 },
      runsWithoutArguments: true,
    },
    async ({ positionals: [destDir] }) => {
      if (destDir !== undefined && !(await Deno.stat(destDir)).isDirectory) {
        throw new Deno.errors.NotADirectory(`'${destDir}' is not a directory`);
      }
      const dir = destDir ??
        await Deno.makeTempDir({ prefix: "aiofile-cpuinfo-" });
      try {
        let threads: Context | undefined;
        try {
          // A context made for the purpose, reused for every special file.
          threads = createContext({ backend: "thread" });
        } catch (error) {
          console.log(`no thread context here: ${(error as Error).message}`);
        }
        if (threads !== undefined) {
          await using context = threads;
          await copyLines("/proc/cpuinfo", `${dir}/cpuinfo-thread`, context);
        }
        await copyLines("/proc/cpuinfo", `${dir}/cpuinfo-default`);
      } finally {
        if (destDir === undefined) {
          await Deno.remove(dir, { recursive: true });
          console.log(`(${dir} was a temporary directory, now removed)`);
        }
      }
    },
  );
}
