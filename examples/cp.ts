/**
 * `cp`: copies a file in chunks, with a progress bar on stderr when it is a
 * terminal, and the throughput at the end.
 *
 *     deno run --allow-read --allow-write examples/cp.ts SOURCE DEST [--chunk-size=BYTES]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { asyncOpen } from "../mod.ts";

const encoder = new TextEncoder();

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round(width * done / total);
  const percent = total === 0 ? 100 : Math.floor(100 * done / total);
  return `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${percent}%`;
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { "chunk-size": { type: "string", default: "65536" } },
  });
  if (positionals.length !== 2) {
    console.error("usage: cp.ts SOURCE DEST [--chunk-size=BYTES]");
    Deno.exit(2);
  }
  const [source, dest] = positionals;
  const chunkSize = Number(values["chunk-size"]);
  const showProgress = Deno.stderr.isTerminal();
  const started = performance.now();
  let copied = 0;
  {
    await using src = await asyncOpen(source, "rb");
    await using dst = await asyncOpen(dest, "wb");
    const total = await src.file.size();
    const writes: Promise<number>[] = [];
    for await (const chunk of src.iterChunked(chunkSize)) {
      // Writes take their place when issued: keep a few in flight.
      writes.push(dst.write(chunk));
      if (writes.length >= 8) await writes.shift();
      copied += chunk.length;
      if (showProgress) {
        Deno.stderr.writeSync(encoder.encode(progressBar(copied, total)));
      }
    }
    await Promise.all(writes);
    if (showProgress) Deno.stderr.writeSync(encoder.encode("\n"));
  }
  const seconds = (performance.now() - started) / 1000;
  const mib = copied / 2 ** 20;
  console.error(
    `copied ${copied} bytes in ${seconds.toFixed(3)} s (${
      (mib / seconds).toFixed(1)
    } MiB/s)`,
  );
}
