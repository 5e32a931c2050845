/**
 * Every program in `examples/` runs and does what it says.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withTempDir } from "./backends.ts";

const examples = new URL("../examples/", import.meta.url);

/** Runs an example with `deno run --allow-all`; resolves to its output. */
async function run(
  name: string,
  args: string[] = [],
): Promise<{ stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(name, examples).pathname, ...args],
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  const result = {
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
  assert.equal(code, 0, `${name} failed:\n${result.stderr}`);
  return result;
}

Deno.test("examples/cat.ts prints files line by line", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a`, "one\ntwo é😀\n");
    await Deno.writeTextFile(`${dir}/b`, "three");
    const { stdout } = await run("cat.ts", [`${dir}/a`, `${dir}/b`]);
    assert.equal(stdout, "one\ntwo é😀\nthree");
  });
});

Deno.test("examples/cp.ts copies a file and reports its throughput", async () => {
  await withTempDir(async (dir) => {
    const data = Uint8Array.from(
      { length: 300000 },
      (_, i) => (i * 2654435761) >>> 24,
    );
    await Deno.writeFile(`${dir}/src`, data);
    const { stderr } = await run("cp.ts", [
      `${dir}/src`,
      `${dir}/dst`,
      "--chunk-size=4096",
    ]);
    assert.deepEqual(await Deno.readFile(`${dir}/dst`), data);
    assert.match(stderr, /copied 300000 bytes in .* MiB\/s/);
  });
});

Deno.test("examples/cpuinfo.ts copies /proc/cpuinfo with both contexts", async () => {
  await withTempDir(async (dir) => {
    const { stdout } = await run("cpuinfo.ts", [dir]);
    assert.match(stdout, /cpuinfo-thread: \d+ lines \(read by thread\)/);
    assert.match(stdout, /cpuinfo-default: \d+ lines/);
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

Deno.test("examples/concurrent_writes.ts puts ten writes in place", async () => {
  await withTempDir(async (dir) => {
    const { stdout } = await run("concurrent_writes.ts", [`${dir}/out`]);
    assert.match(stdout, /10 concurrent writes by \w+, all in place/);
    assert.equal(
      await Deno.readTextFile(`${dir}/out`),
      "Hello world\n".repeat(10),
    );
  });
});

Deno.test("examples/reader_writer.ts writes pieces and reads chunks", async () => {
  await withTempDir(async (dir) => {
    const { stdout } = await run("reader_writer.ts", [`${dir}/out`]);
    assert.equal(stdout, '"Hello Wo"\n"rld"\n');
  });
});

Deno.test("examples/line_reader.ts reads lines with their separators", async () => {
  await withTempDir(async (dir) => {
    const { stdout } = await run("line_reader.ts", [`${dir}/out`]);
    assert.equal(stdout, '"Hello World\\n"\n"\\n"\n"From async world"\n');
  });
});

Deno.test("examples/csv_dict_reader.ts yields rows keyed by the header", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/in.csv`;
    await Deno.writeTextFile(
      path,
      'id,text\r\n1,"a, ""b""\r\nc"\r\n2,plain\r\n',
    );
    const { stdout } = await run("csv_dict_reader.ts", [path]);
    assert.equal(
      stdout,
      '{ id: "1", text: \'a, "b"\\r\\nc\' }\n{ id: "2", text: "plain" }\n',
    );
  });
});

Deno.test("examples/hashers.ts computes digests with concurrent readers", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data`;
    const data = Uint8Array.from(
      { length: 200000 },
      (_, i) => (i * 2654435761) >>> 24,
    );
    await Deno.writeFile(path, data);
    const { stdout } = await run("hashers.ts", [path]);
    for (const algorithm of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
      const hash = new Uint8Array(await crypto.subtle.digest(algorithm, data));
      const hex = Array.from(hash, (b) => b.toString(16).padStart(2, "0"))
        .join("");
      assert.match(stdout, new RegExp(`${algorithm} +${hex}\n`));
    }
  });
});
