/**
 * `AIOFile.readInto`: reads into memory the caller owns, on every backend.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile } from "../mod.ts";
import { STAGED_READ_MAX } from "../src/staging.ts";
import { backendTest } from "./backends.ts";

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(n, at + 65536)));
  }
  return bytes;
}

backendTest(
  "readInto fills the target from the offset and resolves to the bytes read",
  async (context, dir) => {
    const path = `${dir}/data.bin`;
    const data = randomBytes(100_000);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    for (
      const [size, offset] of [[1, 0], [4096, 8192], [5000, 3], [65536, 1]]
    ) {
      const target = new Uint8Array(size);
      assert.equal(await afp.readInto(target, offset), size);
      assert.deepEqual(target, data.subarray(offset, offset + size));
    }
    // The default offset is 0.
    const head = new Uint8Array(10);
    assert.equal(await afp.readInto(head), 10);
    assert.deepEqual(head, data.subarray(0, 10));
  },
);

backendTest(
  "readInto is short only at the end of the file, and leaves the rest of the target alone",
  async (context, dir) => {
    const path = `${dir}/data.bin`;
    const data = randomBytes(10_000);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    for (const size of [100, 4096, STAGED_READ_MAX + 3]) {
      const target = new Uint8Array(size).fill(0xee);
      assert.equal(await afp.readInto(target, 9_950), 50);
      assert.deepEqual(target.subarray(0, 50), data.subarray(9_950));
      assert.ok(target.subarray(50).every((b) => b === 0xee));
    }
    assert.equal(await afp.readInto(new Uint8Array(16), 10_000), 0);
    assert.equal(await afp.readInto(new Uint8Array(16), 1e9), 0);
    assert.equal(await afp.readInto(new Uint8Array(0), 0), 0);
  },
);

backendTest(
  "readInto loops until a target larger than one request is full",
  async (context, dir) => {
    const path = `${dir}/data.bin`;
    const size = 3 * STAGED_READ_MAX + 12345;
    const data = randomBytes(size + 100);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    const target = new Uint8Array(size);
    assert.equal(await afp.readInto(target, 100), size);
    const differs = target.findIndex((b, i) => b !== data[100 + i]);
    assert.equal(differs, -1, `differs at ${differs}`);
  },
);

backendTest(
  "readInto takes a view at a non-zero offset, and touches nothing outside it",
  async (context, dir) => {
    const path = `${dir}/data.bin`;
    const data = randomBytes(200_000);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    for (const size of [7, 4096, 150_000]) {
      const memory = new Uint8Array(size + 20).fill(0xaa);
      const view = memory.subarray(10, 10 + size);
      assert.equal(await afp.readInto(view, 5), size);
      assert.deepEqual(view, data.subarray(5, 5 + size));
      assert.ok(memory.subarray(0, 10).every((b) => b === 0xaa));
      assert.ok(memory.subarray(10 + size).every((b) => b === 0xaa));
    }
  },
);

backendTest(
  "readInto into one buffer, over and over, reads the whole file in any mode",
  async (context, dir) => {
    const path = `${dir}/text.txt`;
    const text = "héllo wörld\n".repeat(5000);
    await Deno.writeTextFile(path, text);
    await using afp = await AIOFile.open(path, "r", { context });
    const buffer = new Uint8Array(4096);
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (let n; (n = await afp.readInto(buffer, offset)) > 0; offset += n) {
      parts.push(buffer.slice(0, n));
    }
    const joined = new Uint8Array(offset);
    parts.reduce((at, part) => (joined.set(part, at), at + part.length), 0);
    assert.equal(new TextDecoder().decode(joined), text);
  },
);

backendTest(
  "readInto into a SharedArrayBuffer or a resizable buffer",
  async (context, dir) => {
    const path = `${dir}/data.bin`;
    const data = randomBytes(70_000);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    for (const size of [512, 70_000]) {
      const shared = new Uint8Array(new SharedArrayBuffer(size));
      assert.equal(await afp.readInto(shared, 0), size);
      assert.deepEqual(new Uint8Array(shared), data.subarray(0, size));
      const resizable = new Uint8Array(
        new ArrayBuffer(size, { maxByteLength: 2 * size }),
      );
      assert.equal(await afp.readInto(resizable, 0), size);
      assert.deepEqual(resizable, data.subarray(0, size));
    }
  },
);

backendTest(
  "readInto: a target transferred or shrunk while the read is in flight rejects, and nothing else changes",
  async (context, dir, backend) => {
    const path = `${dir}/data.bin`;
    const data = randomBytes(2 * STAGED_READ_MAX);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context });
    for (const size of [4096, STAGED_READ_MAX + 4096]) {
      const target = new Uint8Array(size);
      const reading = afp.readInto(target, 0);
      const moved = (target.buffer as ArrayBuffer).transfer();
      await assert.rejects(reading, TypeError);
      assert.equal(moved.byteLength, size);
      if (backend !== "deno") {
        // The kernel never saw the caller's memory. (Deno's own reads hold
        // it for the call, so there it is filled, and safely so.)
        assert.ok(new Uint8Array(moved).every((b) => b === 0));
      }

      const resizable = new ArrayBuffer(size, { maxByteLength: size });
      const shrinking = afp.readInto(new Uint8Array(resizable), 0);
      resizable.resize(16);
      await assert.rejects(shrinking, TypeError);
    }
    // The file and other reads are fine.
    const after = new Uint8Array(4096);
    assert.equal(await afp.readInto(after, 100), 4096);
    assert.deepEqual(after, data.subarray(100, 4196));
  },
);

backendTest(
  "readInto: bad arguments and files that cannot be read reject with a clear error",
  async (context, dir) => {
    const path = `${dir}/data.bin`;
    await Deno.writeFile(path, new Uint8Array(100));
    await using afp = await AIOFile.open(path, "rb", { context });
    const target = new Uint8Array(10);
    for (const bad of [undefined, null, "abc", [1, 2], new ArrayBuffer(8)]) {
      await assert.rejects(
        afp.readInto(bad as unknown as Uint8Array, 0),
        (e: Error) => e instanceof TypeError && /target/.test(e.message),
      );
    }
    await assert.rejects(
      afp.readInto(new Uint16Array(4) as unknown as Uint8Array),
      TypeError,
    );
    for (const offset of [-1, 1.5, NaN, Infinity]) {
      await assert.rejects(
        afp.readInto(target, offset),
        (e: Error) => e instanceof RangeError && /offset/.test(e.message),
      );
    }
    await assert.rejects(
      afp.readInto(target, "0" as unknown as number),
      TypeError,
    );
    const writeOnly = await AIOFile.open(`${dir}/w.bin`, "wb", { context });
    await assert.rejects(writeOnly.readInto(target), Deno.errors.BadResource);
    await writeOnly.close();
    await assert.rejects(writeOnly.readInto(target), Deno.errors.BadResource);
    const never = new AIOFile(path, "rb", { context });
    await assert.rejects(never.readInto(target), Deno.errors.BadResource);
  },
);

backendTest(
  "readInto on an O_DIRECT file: aligned reads work, unaligned ones are a RangeError",
  async (context, dir) => {
    const path = `${dir}/direct.bin`;
    const data = randomBytes(65536 + 100);
    await Deno.writeFile(path, data);
    await using afp = await AIOFile.open(path, "rb", { context, direct: true });
    const target = new Uint8Array(8192);
    assert.equal(await afp.readInto(target, 4096), 8192);
    assert.deepEqual(target, data.subarray(4096, 4096 + 8192));
    // A view at an odd memory offset is fine: the backend aligns the memory.
    const odd = new Uint8Array(4096 + 3).subarray(3);
    assert.equal(await afp.readInto(odd, 0), 4096);
    assert.deepEqual(odd, data.subarray(0, 4096));
    // Short at the end of the file.
    const tail = new Uint8Array(4096);
    assert.equal(await afp.readInto(tail, 65536), 100);
    assert.deepEqual(tail.subarray(0, 100), data.subarray(65536));
    await assert.rejects(afp.readInto(new Uint8Array(4096), 100), RangeError);
    await assert.rejects(afp.readInto(new Uint8Array(100), 0), RangeError);
  },
  { only: ["uring", "linux"] },
);
