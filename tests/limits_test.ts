/**
 * The file system's largest offset (`s_maxbytes`, about 16 TiB on ext4 with
 * 4 KiB blocks): every backend does there what pread(2), pwrite(2) and
 * ftruncate(2) do, the `deno` backend too although it seeks first and lseek(2)
 * refuses those offsets with `EINVAL`. Each case runs on a sparse file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOError, AIOFile, type Context } from "../mod.ts";
import { backendTest, isExt4 } from "./backends.ts";

/** Whether the temporary directories of the tests are on ext4. */
function tempDirIsExt4(): boolean {
  const dir = Deno.makeTempDirSync({ prefix: "aiofile-fs-probe-" });
  try {
    return isExt4(dir);
  } finally {
    Deno.removeSync(dir);
  }
}

const EXT4 = tempDirIsExt4();

/**
 * {@linkcode backendTest} where the temporary directory is on ext4, whose limit
 * lies within the offsets a test may use; otherwise one ignored test saying why.
 */
function ext4Test(
  name: string,
  fn: (context: Context, path: string) => Promise<void>,
): void {
  if (!EXT4) {
    Deno.test({
      name: `${name} (skipped: the temporary directory is not on ext4)`,
      ignore: true,
      fn() {},
    });
    return;
  }
  backendTest(name, async (context, dir) => {
    const path = `${dir}/sparse.bin`;
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    await fn(context, path);
  });
}

/** Far past the largest ext4 file (256 TiB with 64 KiB blocks). */
const FAR = 2 ** 50;

/**
 * The largest size `path`'s file system allows (what ftruncate(2) accepts);
 * the file is left as it was.
 */
function largestSize(path: string): number {
  using file = Deno.openSync(path, { read: true, write: true });
  const size = file.statSync().size;
  let fits = size;
  let tooLarge = FAR;
  while (tooLarge - fits > 1) {
    const middle = Math.floor((fits + tooLarge) / 2);
    try {
      file.truncateSync(middle);
      fits = middle;
    } catch {
      tooLarge = middle;
    }
  }
  file.truncateSync(size);
  return fits;
}

/** Checks that `error` is the `EFBIG` of `syscall` on `path`. */
function isTooLarge(error: unknown, syscall: string, path: string): true {
  assert.ok(error instanceof AIOError, `expected AIOError, got ${error}`);
  assert.equal(error.code, "EFBIG");
  assert.equal(error.errno, 27);
  assert.equal(error.syscall, syscall);
  assert.equal(error.path, path);
  assert.ok(error.message.includes(path), error.message);
  return true;
}

ext4Test(
  "a write past the file system's largest offset rejects AIOError EFBIG",
  async (context, path) => {
    await using afp = await AIOFile.open(path, "r+b", { context });
    const limit = largestSize(path);
    for (const offset of [limit, limit + 100, FAR, Number.MAX_SAFE_INTEGER]) {
      await assert.rejects(
        afp.write(new Uint8Array([4, 5, 6, 7]), offset),
        (error) => isTooLarge(error, "write", path),
        `offset ${offset}`,
      );
    }
    assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3]));
  },
);

ext4Test(
  "a write that crosses the largest offset writes what fits, then rejects AIOError EFBIG",
  async (context, path) => {
    await using afp = await AIOFile.open(path, "r+b", { context });
    const limit = largestSize(path);
    await assert.rejects(
      afp.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), limit - 4),
      (error) => isTooLarge(error, "write", path),
    );
    assert.equal(await afp.size(), limit);
    assert.deepEqual(
      await afp.read(8, limit - 4),
      new Uint8Array([1, 2, 3, 4]),
    );
  },
);

ext4Test(
  "a read past the file system's largest offset resolves to no bytes, like pread",
  async (context, path) => {
    await using afp = await AIOFile.open(path, "r+b", { context });
    const empty = new Uint8Array(0);
    for (const offset of [FAR, Number.MAX_SAFE_INTEGER]) {
      assert.deepEqual(await afp.read(4, offset), empty, `offset ${offset}`);
      assert.deepEqual(await afp.read(1 << 20, offset), empty);
      assert.deepEqual(await afp.read(-1, offset), empty);
    }
    assert.deepEqual(await afp.read(), new Uint8Array([1, 2, 3]));
  },
);

ext4Test(
  "truncate past the file system's largest size rejects AIOError EFBIG",
  async (context, path) => {
    await using afp = await AIOFile.open(path, "r+b", { context });
    for (const length of [FAR, Number.MAX_SAFE_INTEGER]) {
      await assert.rejects(
        afp.truncate(length),
        (error) => isTooLarge(error, "ftruncate", path),
        `length ${length}`,
      );
    }
    assert.equal(await afp.size(), 3);
  },
);
