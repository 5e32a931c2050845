/**
 * `Reader` reads a file chunk by chunk (text chunks are extended to finish
 * their last character); `Writer` appends pieces one after another. This tool
 * reads a text file with a `Reader`, prints each chunk with its offset, and
 * writes the chunks with a `Writer` to a copy: the output path given, or a
 * file in a temporary directory that it removes at the end. The input is only
 * read.
 *
 *     usage: reader_writer.ts [--chunk-size=BYTES] INPUT [OUTPUT]
 *
 * Example:
 *
 *     deno run --allow-read --allow-write examples/reader_writer.ts --chunk-size=8 notes.txt
 *
 * @module
 */

import { AIOFile, Reader, Writer } from "../mod.ts";
import { parseByteCount, refuseSameFile, runCommand } from "./_cli.ts";

const usage = `usage: reader_writer.ts [--chunk-size=BYTES] INPUT [OUTPUT]

Reads INPUT (UTF-8 text; '-' is standard input) with a Reader, prints each
chunk as its byte offset and a JSON string, and writes the chunks with a
Writer to OUTPUT (created or overwritten), or without OUTPUT to a temporary
directory removed at the end. INPUT is only read.

  --chunk-size=BYTES  bytes per chunk (default 16; K, M allowed)

example: deno run --allow-read --allow-write examples/reader_writer.ts --chunk-size=8 notes.txt
`;

/**
 * Copies `input` to `output` chunk by chunk, calling `onChunk` with each
 * chunk and its offset; resolves to the bytes written.
 */
export async function copyInChunks(
  input: string,
  output: string,
  chunkSize: number,
  onChunk: (chunk: string, offset: number) => void,
): Promise<number> {
  await using source = await AIOFile.open(input, "r");
  await refuseSameFile(input, output);
  await using copy = await AIOFile.open(output, "w");
  const writer = new Writer(copy);
  let offset = 0;
  for await (const chunk of new Reader(source, { chunkSize })) {
    onChunk(chunk, offset);
    offset += await writer.write(chunk);
  }
  return offset;
}

if (import.meta.main) {
  await runCommand({
    usage,
    options: { "chunk-size": { type: "string", default: "16" } },
    positionals: { min: 1, max: 2 },
  }, async ({ values, positionals: [input, output] }) => {
    const chunkSize = parseByteCount(
      "chunk-size",
      values["chunk-size"]!,
      2 ** 26,
    );
    const source = input === "-" ? "/dev/stdin" : input;
    const temporary = output === undefined
      ? await Deno.makeTempDir({ prefix: "aiofile-reader-writer-" })
      : undefined;
    const target = output ?? `${temporary}/copy.txt`;
    try {
      const bytes = await copyInChunks(
        source,
        target,
        chunkSize,
        (chunk, offset) => console.log(`${offset}\t${JSON.stringify(chunk)}`),
      );
      console.log(
        `wrote ${bytes} bytes with a Writer to ${target}${
          temporary === undefined ? "" : " (a temporary directory, now removed)"
        }`,
      );
    } finally {
      if (temporary !== undefined) {
        await Deno.remove(temporary, { recursive: true });
      }
    }
  });
}
