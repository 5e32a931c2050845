/**
 * Reads and writes larger than the kernel moves in one call (2 GiB less a
 * page) or than 32 bits can count (4 GiB): every byte is moved, or the error
 * `pread`/`pwrite` would give; a length is never truncated.
 *
 * Reading 4 GiB for real needs 4 GiB of fresh memory, which takes tens of
 * seconds on this kind of virtual machine, so the default tests replace the
 * backend file's `read`/`write` by ones that answer as the kernel would
 * without touching memory, and check what `AIOFile` asks of the backend. The
 * real thing runs with `AIOFILE_TEST_LARGE=1`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AIOFile, createContext } from "../mod.ts";
import { MAX_REQUEST_BYTES } from "../impl/backend.ts";
import { fileAccess } from "../src/aiofile.ts";
import { linuxProvider } from "../impl/linux.ts";
import { uringProvider } from "../impl/uring.ts";
import type { RingBackend } from "../impl/ring/engine.ts";
import { backendTest, readOnly, wrapBackendFiles } from "./backends.ts";

const GiB = 2 ** 30;

/** What the kernel does with one read or write: at most this many bytes. */
const KERNEL_CAP = 0x7ffff000;

/**
 * Makes the backend files opened meanwhile answer reads and writes as the
 * kernel would for a file of `size` bytes (without moving any byte), and
 * records the length of every request.
 */
function fakeLargeFile(size: number) {
  const lengths: number[] = [];
  const restore = wrapBackendFiles((file) => {
    Object.defineProperties(file, {
      read: {
        value: (into: Uint8Array, offset: number) => {
          lengths.push(into.length);
          return Promise.resolve(
            Math.max(0, Math.min(into.length, KERNEL_CAP, size - offset)),
          );
        },
      },
      write: {
        value: (data: Uint8Array) => {
          lengths.push(data.length);
          return Promise.resolve(Math.min(data.length, KERNEL_CAP));
        },
      },
      writeInline: { value: undefined },
      size: { value: () => Promise.resolve(size) },
    });
  });
  return { lengths, restore };
}

for (const size of [2 * GiB + 8192, 4 * GiB + 8192]) {
  backendTest(
    `a read of ${size} bytes is made of requests the kernel takes whole, and returns them all`,
    async (context, dir) => {
      const path = `${dir}/large.bin`;
      await Deno.writeFile(path, new Uint8Array(1));
      const fake = fakeLargeFile(size);
      try {
        await using afp = await AIOFile.open(path, "rb", { context });
        // The result's memory is never touched: the kernel is faked.
        assert.equal((await afp.read(size, 0)).length, size);
        assert.equal((await afp.read(-1, 0)).length, size);
      } finally {
        fake.restore();
      }
      assert.ok(
        fake.lengths.every((n) => n <= MAX_REQUEST_BYTES),
        `requests of ${Math.max(...fake.lengths)} bytes`,
      );
    },
  );
}

backendTest(
  "a write of 4 GiB and more is made of requests the kernel takes whole",
  async (context, dir) => {
    const size = 4 * GiB + 4096;
    const fake = fakeLargeFile(0);
    try {
      await using afp = await AIOFile.open(`${dir}/out.bin`, "wb", {
        context,
      });
      // `write` copies the caller's bytes first, which would touch 4 GiB of
      // fresh memory: bytes handed over (as Writer and the wrapper hand
      // them) take the same path to the backend without the copy.
      const bytes = new Uint8Array(size);
      assert.equal(await fileAccess(afp).write(bytes, 0, true), size);
    } finally {
      fake.restore();
    }
    assert.ok(fake.lengths.every((n) => n <= MAX_REQUEST_BYTES));
    assert.equal(fake.lengths.reduce((a, b) => a + b, 0) >= size, true);
  },
);

for (const provider of [uringProvider, linuxProvider]) {
  const reason = provider.unavailableReason();
  Deno.test({
    name:
      `[${provider.name}] a request longer than the kernel takes is refused, never cut to 32 bits`,
    ignore: reason !== undefined,
    async fn() {
      const backend = provider.create() as RingBackend;
      const path = await Deno.makeTempFile();
      try {
        await Deno.writeFile(path, new Uint8Array(8192).fill(1));
        const file = await backend.open({
          kind: "path",
          path,
          flags: readOnly(false),
        });
        try {
          // 4 GiB + 8 KiB: its low 32 bits say 8192.
          const into = new Uint8Array(4 * GiB + 8192);
          await assert.rejects(file.read(into, 0), RangeError);
          await assert.rejects(
            file.write(new Uint8Array(4 * GiB), 0),
            RangeError,
          );
        } finally {
          await file.close();
        }
      } finally {
        await backend.close();
        await Deno.remove(path);
      }
    },
  });
}

// ---------------------------------------------------------------------------
// The real thing, on request (slow: fresh memory costs here)

const large = Deno.permissions.querySync({
      name: "env",
      variable: "AIOFILE_TEST_LARGE",
    }).state === "granted" && Deno.env.get("AIOFILE_TEST_LARGE") === "1";

for (const backend of ["uring", "linux", "thread", "deno"] as const) {
  Deno.test({
    name:
      `[${backend}] for real: 2 GiB and 4 GiB reads of a sparse file, a 4 GiB write to tmpfs`,
    ignore: !large,
    async fn() {
      await using context = createContext({ backend });
      const dir = await Deno.makeTempDir({ dir: "/dev/shm" });
      try {
        const path = `${dir}/sparse.bin`;
        const size = 4 * GiB + 8192;
        await using file = await Deno.open(path, {
          write: true,
          create: true,
        });
        await file.truncate(size);
        await file.seek(size - 2, Deno.SeekMode.Start);
        await file.write(new Uint8Array([7, 9]));
        {
          await using afp = await AIOFile.open(path, "rb", { context });
          let bytes: Uint8Array | undefined = await afp.read(size, 0);
          assert.equal(bytes.length, size);
          assert.deepEqual(bytes.subarray(size - 2), new Uint8Array([7, 9]));
          bytes = undefined;
          const half = await afp.read(2 * GiB + 8192, 0);
          assert.equal(half.length, 2 * GiB + 8192);
        }
        const out = `${dir}/out.bin`;
        {
          await using afp = await AIOFile.open(out, "wb", { context });
          const data = new Uint8Array(4 * GiB + 4096);
          data[data.length - 1] = 5;
          assert.equal(await afp.write(data, 0), data.length);
        }
        assert.equal((await Deno.stat(out)).size, 4 * GiB + 4096);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
