/**
 * `AIOFile.stat()`: the `Deno.FileInfo` that `Deno.stat` gives for the same
 * file, on every backend.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile } from "../mod.ts";
import { backendTest } from "./backends.ts";

/** Compares every field, dates by their time. */
function assertSameInfo(got: Deno.FileInfo, expected: Deno.FileInfo): void {
  const show = (info: Deno.FileInfo) =>
    Object.fromEntries(
      Object.entries(info).map((
        [key, value],
      ) => [key, value instanceof Date ? value.getTime() : value]),
    );
  assert.deepEqual(show(got), show(expected));
}

backendTest(
  "stat() of an open file is what Deno.stat says of it",
  async (context, dir) => {
    const path = `${dir}/data.bin`;
    await Deno.writeFile(path, new Uint8Array(12345).fill(1));
    await using afp = await AIOFile.open(path, "r+b", { context });
    assertSameInfo(await afp.stat(), await Deno.stat(path));
    await afp.write(new Uint8Array(100), 20_000);
    await afp.truncate(30_000);
    const info = await afp.stat();
    assert.equal(info.size, 30_000);
    assertSameInfo(info, await Deno.stat(path));
  },
);

backendTest(
  "stat() of special files: /dev/null, /proc/cpuinfo, a FIFO",
  async (context, dir) => {
    for (const path of ["/dev/null", "/proc/cpuinfo"]) {
      await using afp = await AIOFile.open(path, "r", { context });
      assertSameInfo(await afp.stat(), await Deno.stat(path));
    }
    const fifo = `${dir}/fifo`;
    const made = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    assert.ok(made.success);
    const writer = Deno.open(fifo, { write: true });
    await using afp = await AIOFile.open(fifo, "r", { context });
    (await writer).close();
    const info = await afp.stat();
    assert.equal(info.isFifo, true);
    assertSameInfo(info, await Deno.stat(fifo));
  },
);

backendTest(
  "stat() of a closed or never opened file rejects BadResource",
  async (context, dir) => {
    const path = `${dir}/a`;
    const afp = new AIOFile(path, "w", { context });
    await assert.rejects(afp.stat(), Deno.errors.BadResource);
    await afp.open();
    await afp.close();
    await assert.rejects(afp.stat(), Deno.errors.BadResource);
  },
);

Deno.test("stat() of a Deno.FsFile passed in is its own stat()", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "hello");
    using file = await Deno.open(path);
    await using afp = await AIOFile.open(file, "r");
    assertSameInfo(await afp.stat(), await file.stat());
  } finally {
    await Deno.remove(path);
  }
});
