/**
 * Every program in `examples/` is a tool a person can run: it prints its
 * usage on `--help`, `-h` (and with no argument where it needs one), refuses
 * bad arguments with one line and the usage (exit 2, no stack trace), never
 * writes to its inputs, and does what it says on real (small) files.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withTempDir } from "./backends.ts";
import { AIOFile } from "../mod.ts";
import { ProgressMeter, REDRAW_INTERVAL_MS } from "../examples/cp.ts";
import { csvDictReader, CsvError } from "../examples/csv_dict_reader.ts";

const examplesDir = new URL("../examples/", import.meta.url);

/** What a run of an example did. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs an example with `deno run --allow-all` in a fresh, empty working
 * directory (stdin empty unless given), and checks that it wrote nothing there:
 * no argument may be taken for a file to create.
 */
async function run(
  name: string,
  args: string[] = [],
  options: { stdin?: Uint8Array | string } = {},
): Promise<Run> {
  return await withTempDir(async (cwd) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        decodeURIComponent(new URL(name, examplesDir).pathname),
        ...args,
      ],
      cwd,
      env: { NO_COLOR: "1" },
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(
        typeof options.stdin === "string"
          ? new TextEncoder().encode(options.stdin)
          : options.stdin,
      );
      await writer.close();
    }
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    const result = {
      code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
    const left = [...Deno.readDirSync(cwd)].map((entry) => entry.name);
    assert.deepEqual(
      left,
      [],
      `${name} ${args.join(" ")} wrote in its working directory\n${
        show(result)
      }`,
    );
    return result;
  });
}

/** `result` as text, for assertion messages. */
function show(result: Run): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** `text` matched literally in a regular expression. */
function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Asserts that the run succeeded. */
function assertOk(result: Run): void {
  assert.equal(result.code, 0, show(result));
}

/** Asserts a refused command line: exit 2, one line then the usage on stderr, no stack trace. */
function assertUsageError(name: string, result: Run, message: RegExp): void {
  assert.equal(result.code, 2, show(result));
  const [first, blank, usage] = result.stderr.split("\n");
  assert.match(first, new RegExp(`^${escaped(name)}: `), show(result));
  assert.match(first, message, show(result));
  assert.equal(blank, "", show(result));
  assert.match(
    usage,
    new RegExp(`^usage: ${escaped(name)}( |$)`),
    show(result),
  );
  assertNoStackTrace(result);
}

/** Asserts that nothing on stderr looks like a stack trace or an uncaught error. */
function assertNoStackTrace(result: Run): void {
  assert.doesNotMatch(result.stderr, /^\s+at /m, show(result));
  assert.doesNotMatch(result.stderr, /Uncaught/, show(result));
}

/** Bytes that look random, the same every run. */
function someBytes(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 2654435761) >>> 24);
}

/** What `command args...` prints on stdout. */
async function commandOutput(command: string, args: string[]): Promise<string> {
  const { code, stdout } = await new Deno.Command(command, { args }).output();
  assert.equal(code, 0, `${command} ${args.join(" ")} failed`);
  return new TextDecoder().decode(stdout);
}

/**
 * Each example, and whether it does something useful with no argument (the
 * others print their usage then).
 */
const EXAMPLES: Record<string, { runsWithoutArguments: boolean }> = {
  "cat.ts": { runsWithoutArguments: false },
  "concurrent_writes.ts": { runsWithoutArguments: false },
  "cp.ts": { runsWithoutArguments: false },
  "cpuinfo.ts": { runsWithoutArguments: true },
  "csv_dict_reader.ts": { runsWithoutArguments: false },
  "demo.ts": { runsWithoutArguments: true },
  "hashers.ts": { runsWithoutArguments: false },
  "line_reader.ts": { runsWithoutArguments: false },
  "reader_writer.ts": { runsWithoutArguments: false },
};

Deno.test("every example in examples/ is in this file's list", () => {
  const programs = [...Deno.readDirSync(examplesDir)]
    .map((entry) => entry.name)
    .filter((name) => name.endsWith(".ts") && !name.startsWith("_"))
    .sort();
  assert.deepEqual(programs, Object.keys(EXAMPLES).sort());
});

for (const [name, { runsWithoutArguments }] of Object.entries(EXAMPLES)) {
  Deno.test(`examples/${name}: --help and -h print the usage, a bad option is refused`, async () => {
    const cases = [["--help"], ["-h"], ["--no-such-option"]];
    if (!runsWithoutArguments) cases.push([]);
    const [help, h, bad, none] = await Promise.all(
      cases.map((args) => run(name, args)),
    );
    for (const result of [help, h, none]) {
      if (result === undefined) continue;
      assertOk(result);
      assert.match(
        result.stdout,
        new RegExp(`^usage: ${escaped(name)}( |\n)`),
        show(result),
      );
      assert.match(result.stdout, /\nexample: deno run /, show(result));
      assert.equal(result.stderr, "", show(result));
    }
    assert.equal(h.stdout, help.stdout);
    if (none !== undefined) assert.equal(none.stdout, help.stdout);
    assertUsageError(name, bad, /Unknown option '--no-such-option'/);
    assert.equal(bad.stdout, "");
  });
}

Deno.test("examples: a file that does not exist is a bad argument (exit 2, usage, no stack trace)", async () => {
  await withTempDir(async (dir) => {
    const missing = `${dir}/missing`;
    const runs: [string, string[]][] = [
      ["cat.ts", [missing]],
      ["cp.ts", [missing, `${dir}/copy`]],
      ["cp.ts", ["--chunk-size=lots", missing, `${dir}/copy`]],
      ["cpuinfo.ts", [missing]],
      ["csv_dict_reader.ts", [missing]],
      ["hashers.ts", [missing]],
      ["hashers.ts", ["-a", "md6", missing]],
      ["line_reader.ts", [missing]],
      ["reader_writer.ts", [missing]],
      ["concurrent_writes.ts", [`${missing}/out`]],
      ["concurrent_writes.ts", ["--count=0", `${dir}/out`]],
      ["cat.ts", [dir]],
    ];
    const results = await Promise.all(
      runs.map(([name, args]) => run(name, args)),
    );
    for (const [i, [name]] of runs.entries()) {
      assertUsageError(
        name,
        results[i],
        /No such file|Is a directory|chunk-size must be|unknown algorithm|--count must be/,
      );
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("examples/cat.ts prints files and standard input byte for byte", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a`, "one\ntwo é😀\n");
    await Deno.writeFile(`${dir}/b`, new Uint8Array([0x63, 0x61, 0x66, 0xe9])); // Latin-1 "café"
    const result = await run("cat.ts", [`${dir}/a`, "-", `${dir}/b`], {
      stdin: "from stdin\n",
    });
    assertOk(result);
    assert.equal(result.stdout, "one\ntwo é😀\nfrom stdin\ncaf\ufffd");
  });
});

Deno.test("examples/cat.ts stops quietly when its reader goes away (cat.ts FILE | head -1)", async () => {
  await withTempDir(async (dir) => {
    // Far more than a pipe holds, so cat.ts is still writing when the pipe closes.
    await Deno.writeTextFile(`${dir}/long`, "a line of text\n".repeat(300_000));
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        decodeURIComponent(new URL("cat.ts", examplesDir).pathname),
        `${dir}/long`,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    const reader = child.stdout.getReader();
    assert.equal((await reader.read()).done, false);
    await reader.cancel();
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    assert.equal(stderr, "");
    assert.equal(status.code, 0);
  });
});

Deno.test("examples/cp.ts copies byte-exact, into a directory too, and never onto its source", async () => {
  await withTempDir(async (dir) => {
    const data = someBytes(300_000);
    await Deno.writeFile(`${dir}/src`, data);
    await Deno.mkdir(`${dir}/into`);
    const [copy, into, same] = await Promise.all([
      run("cp.ts", [`${dir}/src`, `${dir}/dst`, "--chunk-size=4K"]),
      run("cp.ts", [`${dir}/src`, `${dir}/into/`]),
      run("cp.ts", [`${dir}/src`, `${dir}/./src`]),
    ]);
    assertOk(copy);
    assertOk(into);
    assert.deepEqual(await Deno.readFile(`${dir}/dst`), data);
    assert.deepEqual(await Deno.readFile(`${dir}/into/src`), data);
    // stderr is not a terminal here: no progress bar, one final line.
    assert.match(
      copy.stderr,
      /^copied 300000 bytes to .*\/dst in [\d.]+ s \([\d.]+ \w+\/s\)\n$/,
    );
    assert.equal(copy.stdout, "");
    assertUsageError("cp.ts", same, /is the input file/);
    assert.deepEqual(await Deno.readFile(`${dir}/src`), data);
    // A failure while copying: one line, exit 1.
    const full = await run("cp.ts", [`${dir}/src`, "/dev/full"]);
    assert.equal(full.code, 1, show(full));
    assert.match(full.stderr, /^cp\.ts: No space left on device.*\n$/);
  });
});

Deno.test("examples/cp.ts: the progress bar redraws at most once per interval, with rate and ETA", () => {
  const meter = new ProgressMeter(0);
  const total = 100 * 2 ** 20;
  const lines: string[] = [];
  // One update per millisecond for a second, at a steady 100 MiB/s.
  for (let now = 1; now <= 1000; now++) {
    const line = meter.update(now * total / 1000, total, now);
    if (line !== undefined) lines.push(line);
  }
  assert.equal(lines.length, 1000 / REDRAW_INTERVAL_MS);
  assert.equal(
    lines[4],
    "[###############               ] 50%  50.0 MiB of 100.0 MiB  100.0 MiB/s  ETA 0:01",
  );
  for (const line of lines) assert.match(line, /MiB\/s {2}ETA \d+:\d\d$/);
  // A size unknown (a pipe): bytes and rate, no share and no ETA.
  assert.equal(
    new ProgressMeter(0).line(3 * 2 ** 20, 0, 2000),
    "3.0 MiB  1.5 MiB/s",
  );
});

Deno.test("examples/cpuinfo.ts copies /proc/cpuinfo with both contexts, into the directory named", async () => {
  await withTempDir(async (dir) => {
    const result = await run("cpuinfo.ts", [dir]);
    assertOk(result);
    assert.match(result.stdout, /cpuinfo-thread: \d+ lines \(read by thread\)/);
    assert.match(result.stdout, /cpuinfo-default: \d+ lines/);
    const steady = (text: string) =>
      text.split("\n").filter((line) => !line.startsWith("cpu MHz"));
    const expected = steady(await Deno.readTextFile("/proc/cpuinfo"));
    for (const copy of ["cpuinfo-thread", "cpuinfo-default"]) {
      assert.deepEqual(
        steady(await Deno.readTextFile(`${dir}/${copy}`)),
        expected,
      );
    }
  });
});

Deno.test("examples/cpuinfo.ts without a directory copies into a temporary one and removes it", async () => {
  const result = await run("cpuinfo.ts");
  assertOk(result);
  const temporary = /^\((.+) was a temporary directory, now removed\)$/m
    .exec(result.stdout)?.[1];
  assert.ok(temporary, show(result));
  assert.ok(result.stdout.includes(`${temporary}/cpuinfo-default: `));
  await assert.rejects(Deno.stat(temporary), Deno.errors.NotFound);
});

Deno.test("examples/concurrent_writes.ts writes the file it is told to, every line in place", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/out`, "x".repeat(10_000)); // Overwritten.
    const result = await run("concurrent_writes.ts", [
      "--count=12",
      `${dir}/out`,
    ]);
    assertOk(result);
    assert.match(
      result.stdout,
      /out: 12 concurrent writes by the \w+ backend, all in place\n$/,
    );
    const expected = Array.from(
      { length: 12 },
      (_, i) => `${String(i + 1).padStart(2, "0")} Hello world\n`,
    ).join("");
    assert.equal(await Deno.readTextFile(`${dir}/out`), expected);
  });
});

Deno.test("examples/reader_writer.ts prints chunks, copies them with a Writer, leaves its input untouched", async () => {
  await withTempDir(async (dir) => {
    const input = `${dir}/in.txt`;
    const text = "Hello World\nç😀 end";
    await Deno.writeTextFile(input, text);
    const before = await Deno.stat(input);
    const [named, temporary, same] = await Promise.all([
      run("reader_writer.ts", ["--chunk-size=8", input, `${dir}/copy.txt`]),
      run("reader_writer.ts", ["--chunk-size=8", input]),
      run("reader_writer.ts", [input, input]),
    ]);
    assertOk(named);
    // Text chunks are extended to finish their last character.
    const chunks = '0\t"Hello Wo"\n8\t"rld\\nç😀"\n18\t" end"\n';
    assert.equal(
      named.stdout,
      `${chunks}wrote 22 bytes with a Writer to ${dir}/copy.txt\n`,
    );
    assert.equal(await Deno.readTextFile(`${dir}/copy.txt`), text);
    assertOk(temporary);
    assert.ok(temporary.stdout.startsWith(chunks), show(temporary));
    const where = /to (.+)\/copy\.txt \(a temporary directory, now removed\)\n$/
      .exec(temporary.stdout)?.[1];
    assert.ok(where, show(temporary));
    await assert.rejects(Deno.stat(where), Deno.errors.NotFound);
    assertUsageError("reader_writer.ts", same, /is the input file/);
    const after = await Deno.stat(input);
    assert.equal(await Deno.readTextFile(input), text);
    assert.deepEqual(after.mtime, before.mtime);
  });
});

Deno.test("examples/line_reader.ts prints lines with their separators and leaves its input untouched", async () => {
  await withTempDir(async (dir) => {
    const input = `${dir}/in.txt`;
    const text = "Hello World\r\n\r\nFrom async world";
    await Deno.writeTextFile(input, text);
    const before = await Deno.stat(input);
    const [lf, crlf] = await Promise.all([
      run("line_reader.ts", ["--chunk-size=3", input]),
      run("line_reader.ts", ["--separator=\\r\\n", input]),
    ]);
    assertOk(lf);
    assert.equal(
      lf.stdout,
      '"Hello World\\r\\n"\n"\\r\\n"\n"From async world"\n',
    );
    assertOk(crlf);
    assert.equal(crlf.stdout, lf.stdout);
    const piped = await run("line_reader.ts", ["--separator= ", "-"], {
      stdin: "a b c",
    });
    assertOk(piped);
    assert.equal(piped.stdout, '"a "\n"b "\n"c"\n');
    assert.equal(await Deno.readTextFile(input), text);
    assert.deepEqual((await Deno.stat(input)).mtime, before.mtime);
  });
});

/** The rows `csvDictReader` yields for `text`, or the error it throws. */
async function csvRows(
  dir: string,
  text: string,
): Promise<Record<string, string>[]> {
  const path = `${dir}/data.csv`;
  await Deno.writeTextFile(path, text);
  await using afp = await AIOFile.open(path, "r");
  const rows = [];
  for await (const row of csvDictReader(afp, { chunkSize: 7 })) rows.push(row);
  return rows;
}

Deno.test("examples/csv_dict_reader.ts prints rows as JSON, edge cases included", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/in.csv`;
    const text = "\uFEFFid,text,note\r\n" +
      '1,"a, ""b""\r\nc",plain\r\n' + // Comma, quotes and CRLF in quotes.
      "\r\n" + // A blank line between rows.
      '2,"",\r\n' + // Empty fields, quoted and not.
      '3,"line\n\nbreaks",x y\n' + // LF and a blank line inside quotes.
      "4,last,row\r\n" +
      "\r\n"; // A trailing blank line.
    await Deno.writeTextFile(path, text);
    const result = await run("csv_dict_reader.ts", [path]);
    assertOk(result);
    const rows = result.stdout.trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    const expected = [
      { id: "1", text: 'a, "b"\r\nc', note: "plain" },
      { id: "2", text: "", note: "" },
      { id: "3", text: "line\n\nbreaks", note: "x y" },
      { id: "4", text: "last", note: "row" },
    ];
    assert.deepEqual(rows, expected);
    // The same, read in chunks of a few bytes, and without the final line break.
    assert.deepEqual(await csvRows(dir, text), expected);
    assert.deepEqual(await csvRows(dir, text.trimEnd()), expected);
    assert.deepEqual(await csvRows(dir, "a,b\n"), []);
    assert.deepEqual(await csvRows(dir, ""), []);
  });
});

Deno.test("examples/csv_dict_reader.ts: a malformed file is an error naming the line", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, number, RegExp][] = [
      [
        'a,b\n1,2\n"x\ny",2,3\n',
        3,
        /3 fields, but the header \(line 1\) has 2/,
      ],
      ["a,b\n1,2\n\n3\n", 4, /1 field, but the header \(line 1\) has 2/],
      ['a,b\n1,"2\n3,4\n', 2, /a quoted field starts here and never ends/],
      ['a,b\n1,"2"x\n', 2, /column 6: 'x' after a closing quote/],
      ['a,b\n1,2"x\n', 2, /column 4: a quote inside an unquoted field/],
      ["a,a\n1,2\n", 1, /the header names 'a' twice/],
    ];
    for (const [text, line, message] of cases) {
      await assert.rejects(
        csvRows(dir, text),
        (error) => {
          assert.ok(error instanceof CsvError, String(error));
          assert.equal(error.line, line, error.message);
          assert.match(error.message, new RegExp(`^line ${line}: `));
          assert.match(error.message, message);
          return true;
        },
      );
    }
    // The tool prints the rows before the bad one, then one line naming file and line.
    await Deno.writeTextFile(`${dir}/bad.csv`, "a,b\n1,2\n3,4,5\n");
    const result = await run("csv_dict_reader.ts", [`${dir}/bad.csv`]);
    assert.equal(result.code, 1, show(result));
    assert.equal(result.stdout, '{"a":"1","b":"2"}\n');
    assert.equal(
      result.stderr,
      `csv_dict_reader.ts: ${dir}/bad.csv: line 3: 3 fields, but the header (line 1) has 2\n`,
    );
  });
});

Deno.test("examples/hashers.ts prints the digests sha256sum and friends print", async () => {
  await withTempDir(async (dir) => {
    const data = someBytes(3 * 2 ** 20 + 12345);
    const path = `${dir}/data`;
    const odd = `${dir}/back\\slash`; // coreutils escapes such names.
    await Deno.writeFile(path, data);
    await Deno.writeFile(odd, data.subarray(0, 1000));
    const algorithms = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];
    const [untagged, tagged, defaults, piped] = await Promise.all([
      run("hashers.ts", ["--untagged", "-a", algorithms.join(","), path, odd]),
      run("hashers.ts", ["-a", "sha256", "--algorithm=md5", path, odd]),
      run("hashers.ts", [path]),
      run("hashers.ts", ["--untagged", "-a", "sha256", "-a", "sha1", "-"], {
        stdin: data,
      }),
    ]);
    for (const result of [untagged, tagged, defaults, piped]) assertOk(result);
    let expected = "";
    for (const file of [path, odd]) {
      for (const algorithm of algorithms) {
        expected += await commandOutput(`${algorithm}sum`, [file]);
      }
    }
    assert.equal(untagged.stdout, expected);
    assert.equal(
      tagged.stdout,
      (await commandOutput("sha256sum", ["--tag", path])) +
        (await commandOutput("md5sum", ["--tag", path])) +
        (await commandOutput("sha256sum", ["--tag", odd])) +
        (await commandOutput("md5sum", ["--tag", odd])),
    );
    let defaultExpected = "";
    for (const algorithm of ["md5", "sha1", "sha256", "sha512"]) {
      defaultExpected += await commandOutput(`${algorithm}sum`, [
        "--tag",
        path,
      ]);
    }
    assert.equal(defaults.stdout, defaultExpected);
    // Standard input cannot be read at several offsets: one reader feeds both.
    const fromStdin = async (algorithm: string) =>
      (await commandOutput(`${algorithm}sum`, [path])).replace(path, "-");
    assert.equal(
      piped.stdout,
      (await fromStdin("sha256")) + (await fromStdin("sha1")),
    );
  });
});

Deno.test("examples/demo.ts runs its tour and removes its directory", async () => {
  const result = await run("demo.ts");
  assertOk(result);
  assert.match(result.stdout, /^default context: /);
  assert.match(result.stdout, /1000 concurrent 4 KiB reads in \d+ ms, 0 wrong/);
  const dir = /^\((.+), a temporary directory, is removed\)$/m.exec(
    result.stdout,
  )?.[1];
  assert.ok(dir, show(result));
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});
