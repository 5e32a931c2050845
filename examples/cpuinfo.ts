/**
 * Copies `/proc/cpuinfo` line by line, once with an explicit `thread` context
 * (as one must with the original library, whose Linux AIO cannot read procfs),
 * and once with the default context, which hands such files to a backend that
 * can read them by itself.
 *
 *     deno run --allow-all examples/cpuinfo.ts [DEST_DIR]
 *
 * (Deno 2.9 asks for `--allow-all` to open files in `/proc`.)
 *
 * @module
 */

import { asyncOpen, type Context, createContext } from "../mod.ts";

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
  const dir = Deno.args[0] ?? await Deno.makeTempDir();
  {
    // A context made for the purpose, reused for every special file.
    await using threads = createContext({ backend: "thread" });
    await copyLines("/proc/cpuinfo", `${dir}/cpuinfo-thread`, threads);
  }
  await copyLines("/proc/cpuinfo", `${dir}/cpuinfo-default`);
}
