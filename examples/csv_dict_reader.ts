/**
 * An asynchronous CSV reader that yields one object per row, keyed by the
 * header, over `LineReader`. It handles quoted fields (with `""` for a quote),
 * including fields that span lines.
 *
 *     deno run --allow-read --allow-write examples/csv_dict_reader.ts [FILE.csv]
 *
 * @module
 */

import { AIOFile, LineReader, type LineReaderOptions } from "../mod.ts";

/** Splits one CSV record into fields; `undefined` while a quoted field is still open. */
export function parseRecord(text: string): string[] | undefined {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') field += text[i++];
      else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      fields.push(field);
      field = "";
    } else field += char;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

/** The rows of a CSV file as objects keyed by its header row. */
export async function* csvDictReader(
  afp: AIOFile<"r">,
  options: LineReaderOptions = {},
): AsyncGenerator<Record<string, string>> {
  let header: string[] | undefined;
  let pending = "";
  for await (const line of new LineReader(afp, options)) {
    pending += line;
    const fields = parseRecord(pending.replace(/\r?\n$/, ""));
    if (fields === undefined) continue; // A quoted field goes on.
    pending = "";
    if (header === undefined) {
      header = fields;
      continue;
    }
    yield Object.fromEntries(header.map((key, i) => [key, fields[i] ?? ""]));
  }
  if (pending !== "") throw new SyntaxError("Unterminated quoted field");
}

if (import.meta.main) {
  let path = Deno.args[0];
  if (path === undefined) {
    path = await Deno.makeTempFile({ suffix: ".csv" });
    await Deno.writeTextFile(
      path,
      'name,city,note\nAda,London,"wrote, first"\nLin,"Hong\nKong","said ""hi"""\n',
    );
  }
  await using afp = await AIOFile.open(path, "r");
  for await (const row of csvDictReader(afp)) console.log(row);
}
