/**
 * Faults of the disk: a file system that fills up (a small ext4 and a tmpfs,
 * mounted for the test; `/dev/full` is in `errors_test.ts`), and a writer
 * killed with `SIGKILL` right after its `fdsync` resolved.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOError, AIOFile, type Context } from "../mod.ts";
import { BACKEND_NAMES } from "../impl/backend.ts";
import { unavailableReason } from "../impl/providers.ts";
import { backendTest, withTempDir } from "./backends.ts";
import {
  Child,
  firstMismatch,
  mountUnavailable,
  pattern,
  patternByte,
  type SmallFileSystem,
  withSmallFileSystem,
} from "./faults_support.ts";

const CHUNK = 64 * 1024;
/** Writes in flight at once while the disk fills. */
const BATCH = 8;
/** More than either small file system holds. */
const MOST_CHUNKS = 1024;

/**
 * Fills the file system at `dir` through `context` with batches of writes in
 * flight, while a second file stays open; checks what a full disk must do.
 */
async function fillUp(
  context: Context,
  dir: string,
  unmount: () => Promise<void>,
): Promise<void> {
  const kept = pattern(0, CHUNK, 7);
  const keep = await AIOFile.open(`${dir}/keep.bin`, "w+b", { context });
  const big = await AIOFile.open(`${dir}/big.bin`, "w+b", { context });
  assert.equal(keep.backend, context.backend);
  assert.equal(big.backend, context.backend);
  await keep.write(kept);
  await keep.fsync();

  // Batches of writes until one fails.
  const landed: number[] = [];
  const failures: unknown[] = [];
  for (let first = 0; failures.length === 0; first += BATCH) {
    assert.ok(first < MOST_CHUNKS, "the file system never filled up");
    const batch = Array.from({ length: BATCH }, (_, i) => {
      const offset = (first + i) * CHUNK;
      return big.write(pattern(offset, CHUNK), offset);
    });
    for (const [i, result] of (await Promise.allSettled(batch)).entries()) {
      if (result.status === "fulfilled") {
        assert.equal(result.value, CHUNK);
        landed.push(first + i);
      } else {
        failures.push(result.reason);
      }
    }
  }
  for (const error of failures) {
    assert.ok(error instanceof AIOError, String(error));
    assert.equal(error.code, "ENOSPC", String(error));
    assert.equal(error.errno, 28);
    assert.equal(error.path, `${dir}/big.bin`);
  }
  assert.ok(landed.length > 0, "no write landed before the disk was full");

  // Nothing else changed: the other file, and every write that resolved.
  assert.deepEqual(await keep.read(), kept);
  const bytes = await big.read();
  for (const chunk of landed) {
    const at = firstMismatch(bytes, chunk * CHUNK, (chunk + 1) * CHUNK);
    assert.equal(at, undefined, `chunk ${chunk} is wrong at byte ${at}`);
  }
  // A failed write may have landed in part; elsewhere the file is a hole.
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0 && bytes[i] !== patternByte(i)) {
      assert.fail(`byte ${i} is ${bytes[i]}: neither written nor a hole`);
    }
  }

  // The file stays usable: blocks it already has can be written again.
  const again = pattern(0, CHUNK, 3);
  assert.equal(await big.write(again, landed[0] * CHUNK), CHUNK);
  assert.deepEqual(await big.read(CHUNK, landed[0] * CHUNK), again);
  await big.fsync();

  // Closing still releases the descriptors: the file system can be unmounted.
  await big.close();
  await keep.close();
  await unmount();
}

for (const kind of ["ext4", "tmpfs"] as const satisfies SmallFileSystem[]) {
  const name =
    `a full ${kind}: writes reject AIOError ENOSPC, nothing else changes, close releases`;
  const reason = mountUnavailable(kind);
  if (reason !== undefined) {
    Deno.test({ name: `${name} (skipped: ${reason})`, ignore: true, fn() {} });
    continue;
  }
  backendTest(name, (context) =>
    withSmallFileSystem(
      kind,
      (dir, unmount) => fillUp(context, dir, unmount),
    ));
}

for (const backend of BACKEND_NAMES) {
  const reason = unavailableReason(backend);
  Deno.test({
    name:
      `[${backend}] a writer killed (SIGKILL) right after fdsync resolved leaves every byte it synced` +
      (reason === undefined ? "" : ` (skipped: ${reason})`),
    ignore: reason !== undefined,
    async fn() {
      await withTempDir(async (dir) => {
        const path = `${dir}/synced.bin`;
        await using child = Child.spawn("sync_then_write.ts", [
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          "--allow-ffi",
        ], { args: [path, backend] });
        const synced = await child.json();
        child.kill("SIGKILL");
        const status = await child.status;
        assert.equal(status.signal, "SIGKILL", await child.stderr);
        assert.equal(synced.backend, backend);
        assert.ok(synced.bytes > 0);
        const bytes = await Deno.readFile(path);
        assert.ok(
          bytes.length >= synced.bytes,
          `${bytes.length} bytes, ${synced.bytes} synced`,
        );
        const at = firstMismatch(bytes, 0, synced.bytes);
        assert.equal(at, undefined, `synced data lost at byte ${at}`);
      });
    },
  });
}
