/**
 * A tour of the library on real files: writes a file with many concurrent
 * positional writes, reads it back at random offsets, copies `/proc/cpuinfo`,
 * appends, and prints which backend served each file. Everything happens in a
 * temporary directory, removed at the end.
 *
 *     usage: demo.ts
 *
 * Example: `deno task demo`, or
 *
 *     deno run --allow-all examples/demo.ts
 *
 * Without `--allow-ffi` every file is served by the `deno` backend (and Deno
 * 2.9 asks for `--allow-all` to open `/proc/cpuinfo`).
 *
 * @module
 */

import { AIOFile, defaultContext } from "../mod.ts";
import { runCommand } from "./_cli.ts";

const usage = `usage: demo.ts

A tour of the library on real files, in a temporary directory removed at the
end: concurrent positional writes and reads, a copy of /proc/cpuinfo, appends;
prints which backend served each file. Takes no arguments.

example: deno run --allow-all examples/demo.ts   (or: deno task demo)
`;

/** Runs the tour and prints its table. */
async function demo(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "aiofile-demo-" });
  const rows: { file: string; backend: string; what: string }[] = [];
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

  try {
    console.log(`default context: ${defaultContext().backends.join(" -> ")}\n`);

    // 1. 256 blocks of 64 KiB, all written at once, each at its own offset.
    const blockSize = 65536;
    const blocks = 256;
    const dataPath = `${dir}/blocks.bin`;
    {
      await using afp = await AIOFile.open(dataPath, "w+b");
      const started = performance.now();
      await Promise.all(
        Array.from({ length: blocks }, (_, i) => {
          const block = new Uint8Array(blockSize).fill(i & 0xff);
          return afp.write(block, i * blockSize);
        }),
      );
      await afp.fsync();
      const ms = performance.now() - started;
      rows.push({
        file: dataPath,
        backend: afp.backend!,
        what: `${blocks} concurrent writes, ${mib(blocks * blockSize)} in ${
          ms.toFixed(0)
        } ms`,
      });

      // 2. Read it back at random offsets, all in flight at once, and check.
      const reads = 1000;
      const t0 = performance.now();
      const results = await Promise.all(
        Array.from({ length: reads }, () => {
          const block = Math.floor(Math.random() * blocks);
          return afp.read(4096, block * blockSize).then((bytes) => ({
            block,
            bytes,
          }));
        }),
      );
      const wrong = results.filter(({ block, bytes }) =>
        bytes.length !== 4096 || bytes.some((b) =>
          b !== (block & 0xff)
        )
      ).length;
      rows.push({
        file: dataPath,
        backend: afp.backend!,
        what: `${reads} concurrent 4 KiB reads in ${
          (performance.now() - t0).toFixed(0)
        } ms, ${wrong} wrong`,
      });
      if (wrong > 0) throw new Error(`${wrong} reads returned wrong data`);
    }

    // 3. A special file (reported size 0): read to the end, copy it as text.
    const copyPath = `${dir}/cpuinfo.txt`;
    {
      await using src = await AIOFile.open("/proc/cpuinfo", "r");
      await using dest = await AIOFile.open(copyPath, "w");
      const text = await src.read();
      await dest.write(text);
      const lines = text.split("\n").filter((l) =>
        l.startsWith("processor")
      ).length;
      rows.push({
        file: "/proc/cpuinfo",
        backend: src.backend!,
        what: `read to end: ${lines} processors`,
      });
      rows.push({
        file: copyPath,
        backend: dest.backend!,
        what: `wrote ${text.length} characters`,
      });
    }

    // 4. Appending: every write lands at the end, whatever the offset.
    const logPath = `${dir}/log.txt`;
    {
      await using log = await AIOFile.open(logPath, "a+");
      for (const word of ["one\n", "two\n", "three\n"]) {
        await log.write(word, 0);
      }
      rows.push({
        file: logPath,
        backend: log.backend!,
        what: JSON.stringify(await log.read()),
      });
    }

    const width = Math.max(...rows.map((r) => r.file.length));
    console.log(`${"file".padEnd(width)}  backend  what`);
    for (const row of rows) {
      console.log(
        `${row.file.padEnd(width)}  ${row.backend.padEnd(7)}  ${row.what}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    console.log(`\n(${dir}, a temporary directory, is removed)`);
  }
}

if (import.meta.main) {
  await runCommand({
    usage,
    options: {},
    positionals: { min: 0, max: 0 },
    runsWithoutArguments: true,
  }, demo);
}
