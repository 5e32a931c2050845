/**
 * Every runtime a user has: a runtime whose `node:fs` descriptors are not the
 * operating system's (Deno before 2.7.12), Deno Deploy (no FFI, scoped
 * read/write, `Deno.FsFile` without `seek`/`stat`), and a denied libc.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { AIOFile } from "../mod.ts";
import {
  type DescriptorCalls,
  NODE_DESCRIPTOR_CALLS,
  useDescriptorCallsForTests,
} from "../impl/descriptor.ts";
import { backendTest } from "./backends.ts";

/**
 * `node:fs` as Deno before 2.7.12 gives it: `open` opens the file, but the
 * number it returns is, for the operating system, the descriptor of another
 * file (`decoy`); `fstat` and `close` on that number act on the file opened.
 */
class ForeignDescriptors implements DescriptorCalls {
  /** The number handed out -> the real descriptor of the file opened. */
  readonly opened = new Map<number, number>();
  opens = 0;
  readonly #decoy: string;

  constructor(decoy: string) {
    this.#decoy = decoy;
  }

  async open(path: string, flags: number): Promise<number> {
    this.opens++;
    const real = await NODE_DESCRIPTOR_CALLS.open(path, flags);
    const decoy = fs.openSync(this.#decoy, "r+");
    this.opened.set(decoy, real);
    return decoy;
  }

  fstat(fd: number): Promise<fs.Stats> {
    return NODE_DESCRIPTOR_CALLS.fstat(this.opened.get(fd) ?? fd);
  }

  async close(fd: number): Promise<void> {
    const real = this.opened.get(fd);
    if (real === undefined) {
      throw new Error(`close of unknown descriptor ${fd}`);
    }
    this.opened.delete(fd);
    await NODE_DESCRIPTOR_CALLS.close(real);
    fs.closeSync(fd); // throws EBADF if an FFI close took it already
  }
}

backendTest(
  "a node:fs descriptor that is not the OS's own is never used through FFI",
  async (context, dir) => {
    const decoy = `${dir}/decoy.txt`;
    const decoyText = "the decoy must stay as it is\n";
    Deno.writeTextFileSync(decoy, decoyText);
    const foreign = new ForeignDescriptors(decoy);
    useDescriptorCallsForTests(foreign);
    try {
      const target = `${dir}/target.txt`;
      {
        await using afp = await AIOFile.open(target, "w+", { context });
        assert.equal(afp.backend, "deno");
        assert.equal(await afp.write("hello target\n"), 13);
        assert.equal(await afp.read(), "hello target\n");
      }
      assert.equal(Deno.readTextFileSync(target), "hello target\n");
      assert.equal(foreign.opens, 1);

      // Remembered for the process: the next files are not even opened
      // through node:fs, and "x" still creates its file.
      const created = `${dir}/created.txt`;
      {
        await using afp = await AIOFile.open(created, "x", { context });
        assert.equal(afp.backend, "deno");
        await afp.write("new");
      }
      {
        await using afp = await AIOFile.open(target, "r", { context });
        assert.equal(afp.backend, "deno");
        assert.equal(await afp.read(), "hello target\n");
      }
      assert.equal(Deno.readTextFileSync(created), "new");
      assert.equal(foreign.opens, 1);
      assert.equal(Deno.readTextFileSync(decoy), decoyText);
      assert.equal(foreign.opened.size, 0, "a descriptor was left open");
    } finally {
      useDescriptorCallsForTests();
    }
  },
  { only: ["uring", "linux", "thread"] },
);

backendTest(
  "the first file a runtime with foreign descriptors opens is created once, in mode x",
  async (context, dir) => {
    const decoy = `${dir}/decoy.txt`;
    Deno.writeTextFileSync(decoy, "decoy");
    useDescriptorCallsForTests(new ForeignDescriptors(decoy));
    try {
      const target = `${dir}/new.txt`;
      {
        await using afp = await AIOFile.open(target, "x+", { context });
        assert.equal(afp.backend, "deno");
        await afp.write("created");
        assert.equal(await afp.read(), "created");
      }
      assert.equal(Deno.readTextFileSync(target), "created");
      assert.equal(Deno.readTextFileSync(decoy), "decoy");
    } finally {
      useDescriptorCallsForTests();
    }
  },
  { only: ["uring", "linux", "thread"] },
);

backendTest(
  "a real node:fs descriptor is served by the FFI backend",
  async (context, dir, backend) => {
    useDescriptorCallsForTests(); // nothing learnt before counts
    await using afp = await AIOFile.open(`${dir}/real.txt`, "w+", { context });
    assert.equal(afp.backend, backend);
  },
  { only: ["uring", "linux", "thread"] },
);
