/**
 * `Writer` appends pieces one after another; `Reader` reads them back in chunks.
 *
 *     deno run --allow-read --allow-write examples/reader_writer.ts [FILE]
 *
 * @module
 */

import { AIOFile, Reader, Writer } from "../mod.ts";

if (import.meta.main) {
  const path = Deno.args[0] ?? await Deno.makeTempFile({ suffix: ".txt" });
  await using afp = await AIOFile.open(path, "w+");
  const writer = new Writer(afp);
  await writer.write("Hello");
  await writer.write(" ");
  await writer.write("World");
  await afp.fsync();
  for await (const chunk of new Reader(afp, { chunkSize: 8 })) {
    console.log(JSON.stringify(chunk));
  }
}
