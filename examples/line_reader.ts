/**
 * `LineReader` reads a file line by line; each line keeps its separator,
 * and the last one may lack it. This tool prints each line of a file as a
 * JSON string, so the separators show. The file is only read.
 *
 *     usage: line_reader.ts [--separator=SEP] [--chunk-size=BYTES] FILE
 *
 * Example:
 *
 *     deno run --allow-read examples/line_reader.ts --separator='\r\n' notes.txt
 *
 * @module
 */

import { AIOFile, DEFAULT_LINE_CHUNK_SIZE, LineReader } from "../mod.ts";
import { parseByteCount, runCommand, UsageError } from "./_cli.ts";

const usage = `usage: line_reader.ts [--separator=SEP] [--chunk-size=BYTES] FILE

Reads FILE (UTF-8 text; '-' is standard input) with a LineReader and prints
each line as a JSON string, separator included. FILE is only read.

  --separator=SEP     where lines end (default '\\n'); \\n, \\r, \\t and \\\\
                      stand for a line feed, carriage return, tab, backslash
  --chunk-size=BYTES  bytes the LineReader reads at a time (default
                      ${DEFAULT_LINE_CHUNK_SIZE}; K, M allowed)

example: deno run --allow-read examples/line_reader.ts --separator='\\r\\n' notes.txt
`;

/** `SEP` with its backslash escapes (`\n`, `\r`, `\t`, `\\`) replaced. */
export function unescapeSeparator(text: string): string {
  const escapes: Record<string, string> = {
    n: "\n",
    r: "\r",
    t: "\t",
    "\\": "\\",
  };
  const separator = text.replace(/\\(.?)/g, (escape, char: string) => {
    if (!(char in escapes)) {
      throw new UsageError(
        `--separator: unknown escape '${escape}' (use \\n, \\r, \\t or \\\\)`,
      );
    }
    return escapes[char];
  });
  if (separator === "") throw new UsageError("--separator must not be empty");
  return separator;
}

if (import.meta.main) {
  await runCommand({
    usage,
    options: {
      separator: { type: "string", default: "\\n" },
      "chunk-size": { type: "string", default: `${DEFAULT_LINE_CHUNK_SIZE}` },
    },
    positionals: { min: 1, max: 1 },
  }, async ({ values, positionals: [path] }) => {
    const lineSep = unescapeSeparator(values.separator!);
    const chunkSize = parseByteCount(
      "chunk-size",
      values["chunk-size"]!,
      2 ** 26,
    );
    await using afp = await AIOFile.open(
      path === "-" ? "/dev/stdin" : path,
      "r",
    );
    for await (const line of new LineReader(afp, { lineSep, chunkSize })) {
      console.log(JSON.stringify(line));
    }
  });
}
