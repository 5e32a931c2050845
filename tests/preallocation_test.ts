/**
 * Speculative preallocation: the bookkeeping (impl/ring/policies/preallocation.ts) and what
 * it does to files on ext4 through the native backends.
 */

import assert from "node:assert/strict";
import {
  type FileRange,
  PREALLOCATE_AFTER,
  PREALLOCATE_STEP_MAX,
  Preallocation,
} from "../impl/ring/policies/preallocation.ts";
import { AIOFile, Writer } from "../mod.ts";
import { backendTest, isExt4 } from "./backends.ts";

const KiB64 = 65536;

function recording(answer = true) {
  const reserved: FileRange[] = [];
  const preallocation = new Preallocation((range) => {
    reserved.push(range);
    return answer;
  });
  return { preallocation, reserved };
}

Deno.test("Preallocation: a sequential run reserves ahead once it is long enough", () => {
  const { preallocation, reserved } = recording();
  let offset = 0;
  while (offset + KiB64 < PREALLOCATE_AFTER) {
    preallocation.beforeWrite(offset, KiB64);
    offset += KiB64;
  }
  assert.equal(reserved.length, 0, "nothing before the run is long enough");
  preallocation.beforeWrite(offset, KiB64);
  offset += KiB64;
  // As much again as the run has written.
  assert.deepEqual(reserved, [{
    offset: offset - KiB64,
    length: KiB64 + offset,
  }]);
  // Nothing more until the writes reach what is reserved; then the next step,
  // never more than PREALLOCATE_STEP_MAX ahead.
  for (; offset < 64 * 2 ** 20; offset += KiB64) {
    preallocation.beforeWrite(offset, KiB64);
  }
  for (let i = 1; i < reserved.length; i++) {
    const previousEnd: number = reserved[i - 1].offset + reserved[i - 1].length;
    assert.equal(reserved[i].offset, previousEnd, "steps follow each other");
    assert.ok(reserved[i].length <= PREALLOCATE_STEP_MAX + KiB64);
  }
  assert.ok(reserved.length < 16, `${reserved.length} reservations`);
  assert.ok(preallocation.reserved);
});

Deno.test("Preallocation: random writes and short runs reserve nothing", () => {
  const { preallocation, reserved } = recording();
  for (let i = 0; i < 1000; i++) {
    preallocation.beforeWrite(((i * 7919) % 1000) * KiB64, KiB64);
  }
  // Short sequential runs that start over elsewhere.
  for (let run = 0; run < 10; run++) {
    for (let i = 0; i < 8; i++) {
      preallocation.beforeWrite(run * 2 ** 30 + i * KiB64, KiB64);
    }
  }
  assert.equal(reserved.length, 0);
  assert.equal(preallocation.reserved, false);
  assert.equal(preallocation.shouldTrim(2 ** 31), false);
});

Deno.test("Preallocation: a refusal stops reserving for the file", () => {
  const { preallocation, reserved } = recording(false);
  for (let offset = 0; offset < 32 * 2 ** 20; offset += KiB64) {
    preallocation.beforeWrite(offset, KiB64);
  }
  assert.equal(reserved.length, 1);
  assert.equal(preallocation.reserved, false);
});

Deno.test("Preallocation: trim only a file that ends where its writes ended", () => {
  const { preallocation } = recording();
  const end = 3 * 2 ** 20;
  for (let offset = 0; offset < end; offset += KiB64) {
    preallocation.beforeWrite(offset, KiB64);
    preallocation.wrote(offset, KiB64);
  }
  // A write that failed wrote nothing: the file still ends where it did.
  preallocation.beforeWrite(end, KiB64);
  assert.ok(preallocation.reserved);
  assert.equal(preallocation.shouldTrim(end), true);
  // Someone else wrote past these writes: their data must not be cut.
  assert.equal(preallocation.shouldTrim(end + 1), false);
  // Past everything reserved: nothing to give back.
  assert.equal(preallocation.shouldTrim(64 * 2 ** 20), false);
  // Lengthened by a truncation, the file still holds what is reserved past
  // its new end, and is trimmed there.
  preallocation.truncated(end + 4096);
  assert.ok(preallocation.reserved);
  assert.equal(preallocation.shouldTrim(end + 4096), true);
  // A truncation that shortens it gives back what lay past the new end.
  preallocation.truncated(2 ** 20);
  assert.equal(preallocation.reserved, false);
  assert.equal(preallocation.shouldTrim(2 ** 20), false);
});

/** Bytes of disk the file at `path` takes. */
function allocated(path: string): number {
  return Deno.statSync(path).blocks! * 512;
}

backendTest(
  "ext4: a file written in sequence gets blocks reserved ahead, given back when it closes",
  async (context, dir) => {
    if (!isExt4(dir)) return; // preallocation is for ext4 only
    const path = `${dir}/sequential.bin`;
    const size = 12 * 2 ** 20 + 123;
    const data = crypto.getRandomValues(new Uint8Array(KiB64));
    const afp = await AIOFile.open(path, "wb", { context });
    const writer = new Writer(afp);
    for (let done = 0; done < size; done += KiB64) {
      await writer.write(data.subarray(0, Math.min(KiB64, size - done)));
    }
    await writer.flush();
    assert.equal(
      Deno.statSync(path).size,
      size,
      "the size is what was written",
    );
    assert.ok(allocated(path) > size + 2 ** 20, "blocks reserved past the end");
    await afp.close();
    assert.equal(Deno.statSync(path).size, size);
    assert.ok(allocated(path) < size + KiB64, `${allocated(path)} bytes taken`);
    const back = await Deno.readFile(path);
    assert.deepEqual(back.subarray(size - 123), data.subarray(0, 123));
  },
  { only: ["uring", "linux"] },
);

backendTest(
  "ext4: files not created or emptied by their open, and appends, get nothing reserved",
  async (context, dir) => {
    if (!isExt4(dir)) return;
    const data = new Uint8Array(KiB64).fill(1);
    for (const mode of ["r+b", "ab"] as const) {
      const path = `${dir}/${mode}.bin`;
      await Deno.writeFile(path, new Uint8Array(0));
      await using afp = await AIOFile.open(path, mode, { context });
      for (let offset = 0; offset < 4 * 2 ** 20; offset += KiB64) {
        await afp.write(data, offset);
      }
      assert.ok(allocated(path) <= 4 * 2 ** 20 + KiB64, `${mode}: reserved`);
    }
  },
  { only: ["uring", "linux"] },
);
