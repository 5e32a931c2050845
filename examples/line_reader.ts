/**
 * `LineReader` reads a file line by line; each line keeps its separator.
 *
 *     deno run --allow-read --allow-write examples/line_reader.ts [FILE]
 *
 * @module
 */

import { AIOFile, LineReader, Writer } from "../mod.ts";

if (import.meta.main) {
  const path = Deno.args[0] ?? await Deno.makeTempFile({ suffix: ".txt" });
  await using afp = await AIOFile.open(path, "w+");
  const writer = new Writer(afp);
  for (const piece of ["Hello", " ", "World", "\n", "\n", "From async world"]) {
    await writer.write(piece);
  }
  await afp.fsync();
  for await (const line of new LineReader(afp)) {
    console.log(JSON.stringify(line));
  }
}
