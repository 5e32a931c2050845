/**
 * `Writer`: an awaited write has landed; a file's close and syncs include every
 * write a `Writer` accepted; appends land in call order. On every backend.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, Writer } from "../mod.ts";
import { backendTest, wrapBackendFiles } from "./backends.ts";

const pieces = ["one\n", "two\n", "three\n", "four\n", "five\n"];

for (const mode of ["a", "w", "a+", "w+"] as const) {
  backendTest(
    `Writer (mode "${mode}"): five awaited writes, then close: all five are there and close resolves`,
    async (context, dir) => {
      for (let round = 0; round < 10; round++) {
        const path = `${dir}/log-${round}.txt`;
        const afp = await AIOFile.open(path, mode, { context });
        const writer = new Writer(afp);
        for (const piece of pieces) await writer.write(piece);
        await afp.close();
        assert.equal(await Deno.readTextFile(path), pieces.join(""));
      }
    },
  );
}

backendTest(
  "Writer: an awaited write is in the file, for another reader, at once",
  async (context, dir) => {
    for (const mode of ["a", "w"] as const) {
      const path = `${dir}/seen-${mode}.txt`;
      await using afp = await AIOFile.open(path, mode, { context });
      const writer = new Writer(afp);
      let expected = "";
      for (const piece of pieces) {
        await writer.write(piece);
        expected += piece;
        assert.equal(await Deno.readTextFile(path), expected);
      }
    }
  },
);

backendTest(
  "append mode: a Writer's writes and the file's own land in call order",
  async (context, dir) => {
    const path = `${dir}/order.txt`;
    {
      await using afp = await AIOFile.open(path, "a", { context });
      const w = new Writer(afp);
      await w.write("1");
      await w.write("2");
      await afp.write("3");
      // Not awaited one by one: still in call order.
      const all = [w.write("4"), afp.write("5"), w.write("6"), afp.write("7")];
      await Promise.all(all);
    }
    assert.equal(await Deno.readTextFile(path), "1234567");
  },
);

backendTest(
  "Writer: close and fsync include writes that were never awaited, with or without write-behind",
  async (context, dir) => {
    for (const writeBehind of [0, 1, 8]) {
      for (const mode of ["a", "w"] as const) {
        const path = `${dir}/unawaited-${mode}-${writeBehind}.txt`;
        const afp = await AIOFile.open(path, mode, { context });
        const writer = new Writer(afp, { writeBehind });
        const written = pieces.map((piece) => writer.write(piece));
        await afp.fsync();
        assert.equal(await Deno.readTextFile(path), pieces.join(""));
        const more = pieces.map((piece) => writer.write(piece));
        await afp.close();
        assert.equal(await Deno.readTextFile(path), pieces.join("").repeat(2));
        await Promise.all([...written, ...more]);
      }
    }
  },
);

backendTest(
  "Writer with write-behind: an awaited write may still be in flight, flush waits for it",
  async (context, dir) => {
    const path = `${dir}/behind.bin`;
    await using afp = await AIOFile.open(path, "w+b", { context });
    const writer = new Writer(afp, { writeBehind: 4 });
    for (let i = 0; i < 32; i++) await writer.write(new Uint8Array([i]));
    await writer.flush();
    assert.deepEqual(
      await afp.read(),
      Uint8Array.from({ length: 32 }, (_, i) => i),
    );
  },
);

backendTest(
  "Writer: flush without write-behind waits for the writes made before it",
  async (context, dir) => {
    const path = `${dir}/flush.txt`;
    await using afp = await AIOFile.open(path, "w", { context });
    const writer = new Writer(afp);
    for (const piece of pieces) writer.write(piece);
    await writer.flush();
    assert.equal(await Deno.readTextFile(path), pieces.join(""));
  },
);

backendTest(
  "Writer: writeBehind is checked",
  async (context, dir) => {
    await using afp = await AIOFile.open(`${dir}/x`, "w", { context });
    assert.throws(() => new Writer(afp, { writeBehind: -1 }), RangeError);
    assert.throws(
      () => new Writer(afp, { writeBehind: "2" as unknown as number }),
      TypeError,
    );
  },
);

// ---------------------------------------------------------------------------
// A file and its context closed together

backendTest(
  "a file closed together with its context completes its close, final sync included",
  async (context, dir) => {
    const path = `${dir}/together.txt`;
    let syncs = 0;
    const restore = wrapBackendFiles((file) => {
      const fsync = file.fsync.bind(file);
      Object.defineProperty(file, "fsync", {
        value: () => (syncs++, fsync()),
      });
    });
    try {
      const afp = await AIOFile.open(path, "w", { context });
      await afp.write("data");
      await Promise.all([afp.close(), context.close()]);
      assert.equal(afp.closed, true);
      assert.equal(context.pending, 0);
    } finally {
      restore();
    }
    assert.equal(syncs, 1);
    assert.equal(await Deno.readTextFile(path), "data");
  },
);

backendTest(
  "a file closed after its context has closed is released, and its close says why it could not sync",
  async (context, dir) => {
    const path = `${dir}/after.txt`;
    const afp = await AIOFile.open(path, "w", { context });
    await afp.write("data");
    await context.close();
    await assert.rejects(afp.close(), Deno.errors.BadResource);
    assert.equal(afp.closed, true);
    assert.equal(await Deno.readTextFile(path), "data");
  },
);
