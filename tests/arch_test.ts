/**
 * The per-architecture ABI constants: the tables against the kernel's headers,
 * and the running architecture's entries against the running Deno and kernel
 * (natively on x86_64, and on aarch64 under qemu-user in `.ci/aarch64`).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { ARCH, currentArch } from "../ffi/arch.ts";
import { AIO_SYSCALLS } from "../ffi/libaio.ts";
import { lastErrno, loadLibc } from "../ffi/libc.ts";
import { URING_SYSCALLS } from "../ffi/uring.ts";
import {
  closeDescriptor,
  LIBC_DESCRIPTOR_CALLS,
  reopenFlags,
} from "../impl/descriptor.ts";
import { readOnly, withTempDir } from "./backends.ts";

const F_GETFL = 3;
const O_ACCMODE = 0o3;

Deno.test("the open flags of each architecture are the kernel's", () => {
  // include/uapi/asm-generic/fcntl.h (x86_64 takes these defaults)
  assert.equal(ARCH.x86_64.O_DIRECT, 0o40000);
  assert.equal(ARCH.x86_64.O_LARGEFILE, 0o100000);
  assert.equal(ARCH.x86_64.O_DIRECTORY, 0o200000);
  // arch/arm64/include/uapi/asm/fcntl.h
  assert.equal(ARCH.aarch64.O_DIRECTORY, 0o40000);
  assert.equal(ARCH.aarch64.O_DIRECT, 0o200000);
  assert.equal(ARCH.aarch64.O_LARGEFILE, 0o400000);
});

Deno.test("the system call numbers of each architecture are the kernel's", () => {
  // arch/x86/entry/syscalls/syscall_64.tbl
  assert.deepEqual(AIO_SYSCALLS.x86_64, {
    io_setup: 206n,
    io_destroy: 207n,
    io_getevents: 208n,
    io_submit: 209n,
  });
  // include/uapi/asm-generic/unistd.h (aarch64)
  assert.deepEqual(AIO_SYSCALLS.aarch64, {
    io_setup: 0n,
    io_destroy: 1n,
    io_submit: 2n,
    io_getevents: 4n,
  });
  // The same on both.
  assert.deepEqual(URING_SYSCALLS, {
    setup: 425n,
    enter: 426n,
    register: 427n,
  });
});

Deno.test("every architecture lists absolute library directories, its own first", () => {
  for (const [name, arch] of Object.entries(ARCH)) {
    assert.ok(arch.libraryDirs.every((dir) => dir.startsWith("/")), name);
    assert.equal(arch.libraryDirs[0], `/lib/${name}-linux-gnu`);
  }
});

const arch = currentArch();

Deno.test({
  name: "the running architecture's open flags are the running Deno's" +
    (arch === undefined ? ` (skipped: no table for ${Deno.build.arch})` : ""),
  ignore: arch === undefined,
  fn() {
    const constants = fs.constants as Record<string, number | undefined>;
    assert.equal(constants.O_DIRECT, arch!.O_DIRECT);
    assert.equal(constants.O_DIRECTORY, arch!.O_DIRECTORY);
  },
});

const libc = loadLibc();

Deno.test({
  name: "the running kernel takes the table's O_DIRECT and O_DIRECTORY" +
    (libc.ok ? "" : ` (skipped: ${libc.reason})`),
  ignore: !libc.ok,
  async fn() {
    if (!libc.ok) return;
    const { fcntl } = libc.library.symbols;
    const { O_DIRECT, O_DIRECTORY, O_LARGEFILE } = arch!;
    await withTempDir(async (dir) => {
      const path = `${dir}/a.bin`;
      await Deno.writeFile(path, new Uint8Array(4096));
      const library = libc.library;
      const open = (name: string, flags: number) =>
        LIBC_DESCRIPTOR_CALLS.open(library, name, flags);
      const info = await Deno.stat(path);
      const fd = open(path, reopenFlags(readOnly(true), info));
      assert.ok(fd >= 0, "open with the table's O_DIRECT failed");
      try {
        const flags = fcntl(fd, F_GETFL, 0n);
        assert.equal(flags & O_DIRECT, O_DIRECT, flags.toString(8));
        // Nothing the kernel reports is a bit this table does not know.
        const known = O_ACCMODE | O_DIRECT | O_LARGEFILE;
        assert.equal(flags & ~known, 0, flags.toString(8));
      } finally {
        await closeDescriptor(library, fd);
      }
      assert.equal(open(path, O_DIRECTORY), -1, "O_DIRECTORY opened a file");
      assert.equal(lastErrno(library), 20); // ENOTDIR
      const directory = open(dir, O_DIRECTORY);
      assert.ok(directory >= 0);
      await closeDescriptor(library, directory);
    });
  },
});
