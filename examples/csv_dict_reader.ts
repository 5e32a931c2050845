/**
 * An asynchronous CSV reader over `LineReader` that yields one object per
 * row, keyed by the header row, and a tool that prints a CSV file's rows as
 * JSON, one object per line.
 *
 * It reads CSV as RFC 4180 writes it: fields separated by commas; a field in
 * double quotes may hold commas, line breaks and quotes (written `""`); lines
 * end with LF or CRLF. A byte order mark at the start and blank lines between
 * rows are skipped. A row with more or fewer fields than the header, a quote
 * inside an unquoted field, text after a closing quote and a quoted field that
 * never ends are errors ({@linkcode CsvError}) naming the line.
 *
 *     usage: csv_dict_reader.ts FILE.csv
 *
 * Example:
 *
 *     deno run --allow-read examples/csv_dict_reader.ts people.csv
 *
 * @module
 */

import { AIOFile, LineReader, type LineReaderOptions } from "../mod.ts";
import { runCommand } from "./_cli.ts";

const usage = `usage: csv_dict_reader.ts FILE.csv

Prints each row of FILE.csv after the header as a JSON object keyed by the
header's names, one per line. A malformed file stops with an error naming the
line ('-' is standard input).

example: deno run --allow-read examples/csv_dict_reader.ts people.csv
`;

/** A malformed CSV file; `line` (1-based) is where the problem is. */
export class CsvError extends SyntaxError {
  override name = "CsvError";
  /** `message` about line `line`. */
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

/** One record: its fields and the line it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * Splits CSV text into records, fed one line at a time (each line with its
 * `\n`, the last one perhaps without). A record may span several lines when a
 * quoted field holds line breaks; blank lines between records are skipped.
 */
export class CsvRecordParser {
  #fields: string[] = [];
  /** The pieces of the field being read (joined once it ends). */
  #pieces: string[] = [];
  /** Inside a quoted field (which goes on on the next line if the line ends). */
  #quoted = false;
  #linesSeen = 0;
  #recordLine = 0;
  #quoteLine = 0;

  /** Feeds the next line; returns the record it completes, if any. */
  push(line: string): CsvRecord | undefined {
    const number = ++this.#linesSeen;
    if (number === 1 && line.startsWith("\uFEFF")) line = line.slice(1);
    // Where the line's text ends, before its LF or CRLF.
    let end = line.length;
    if (line[end - 1] === "\n") end--;
    if (line[end - 1] === "\r") end--;
    let i: number;
    if (this.#quoted) {
      i = this.#readQuoted(line, 0);
      if (this.#quoted) return undefined;
    } else {
      if (end === 0) return undefined; // A blank line between records.
      this.#recordLine = number;
      i = this.#readField(line, 0, end, number);
      if (this.#quoted) return undefined;
    }
    // Here a field has just ended, at a comma or at the end of the line.
    for (;;) {
      if (i < end && line[i] !== ",") {
        throw new CsvError(
          number,
          `column ${i + 1}: '${
            line[i]
          }' after a closing quote (a quoted field ends at a comma or the end of the line)`,
        );
      }
      this.#fields.push(this.#pieces.join(""));
      this.#pieces = [];
      if (i >= end) break;
      i = this.#readField(line, i + 1, end, number);
      if (this.#quoted) return undefined;
    }
    const record = { fields: this.#fields, line: this.#recordLine };
    this.#fields = [];
    return record;
  }

  /** Ends the input: a quoted field still open is an error. */
  end(): void {
    if (this.#quoted) {
      throw new CsvError(
        this.#quoteLine,
        "a quoted field starts here and never ends",
      );
    }
  }

  /**
   * Reads the field that starts at `start` on line `number`, whose text ends
   * at `end`; returns the index where it ends, or leaves `#quoted` set if it
   * is a quoted field that goes on on the next line.
   */
  #readField(line: string, start: number, end: number, number: number) {
    if (start < end && line[start] === '"') {
      this.#quoteLine = number;
      return this.#readQuoted(line, start + 1);
    }
    const comma = line.indexOf(",", start);
    const stop = comma === -1 || comma > end ? end : comma;
    const text = line.slice(start, stop);
    const quote = text.indexOf('"');
    if (quote !== -1) {
      throw new CsvError(
        number,
        `column ${
          start + quote + 1
        }: a quote inside an unquoted field (quote the whole field and double the quote: "say ""hi""")`,
      );
    }
    this.#pieces.push(text);
    return stop;
  }

  /**
   * Reads the inside of a quoted field from `i`; returns the index just after
   * its closing quote, or the line's length, leaving `#quoted` set, if the
   * line ends first (the line break then belongs to the field).
   */
  #readQuoted(line: string, i: number): number {
    this.#quoted = true;
    for (;;) {
      const quote = line.indexOf('"', i);
      if (quote === -1) {
        this.#pieces.push(line.slice(i));
        return line.length;
      }
      this.#pieces.push(line.slice(i, quote));
      if (line[quote + 1] !== '"') {
        this.#quoted = false;
        return quote + 1;
      }
      this.#pieces.push('"');
      i = quote + 2;
    }
  }
}

/**
 * The rows of a CSV file as objects keyed by its header row (the first
 * record), read line by line with a `LineReader` (whose options, but for the
 * separator, may be given). Throws a {@linkcode CsvError} naming the line
 * where the file is malformed.
 */
export async function* csvDictReader(
  afp: AIOFile<"r">,
  options: Omit<LineReaderOptions, "lineSep"> = {},
): AsyncGenerator<Record<string, string>> {
  const parser = new CsvRecordParser();
  let header: CsvRecord | undefined;
  for await (const line of new LineReader(afp, { ...options, lineSep: "\n" })) {
    const record = parser.push(line);
    if (record === undefined) continue;
    if (header === undefined) {
      const seen = new Set<string>();
      for (const name of record.fields) {
        if (seen.has(name)) {
          throw new CsvError(record.line, `the header names '${name}' twice`);
        }
        seen.add(name);
      }
      header = record;
      continue;
    }
    const { fields } = record;
    if (fields.length !== header.fields.length) {
      throw new CsvError(
        record.line,
        `${fields.length} ${
          fields.length === 1 ? "field" : "fields"
        }, but the header (line ${header.line}) has ${header.fields.length}`,
      );
    }
    yield Object.fromEntries(header.fields.map((name, i) => [name, fields[i]]));
  }
  parser.end();
}

if (import.meta.main) {
  await runCommand(
    { usage, options: {}, positionals: { min: 1, max: 1 } },
    async ({ positionals: [path] }) => {
      await using afp = await AIOFile.open(
        path === "-" ? "/dev/stdin" : path,
        "r",
      );
      try {
        for await (const row of csvDictReader(afp)) {
          console.log(JSON.stringify(row));
        }
      } catch (error) {
        // Name the file too: "people.csv: line 3: ...".
        if (error instanceof CsvError) {
          throw new Error(`${path}: ${error.message}`);
        }
        throw error;
      }
    },
  );
}
