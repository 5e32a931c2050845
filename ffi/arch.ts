/**
 * Per-architecture constants of the Linux ABI that differ between x86_64 and
 * aarch64. Everything else the bindings use is the same on both: the AIO and
 * io_uring structures, the other `open(2)` flags, `fcntl`, `statx`, `statfs`'s
 * `f_type` and the error numbers. The system call numbers of AIO are in
 * `libaio.ts`; io_uring's are the same on both (`uring.ts`).
 *
 * Values from the kernel's headers: `include/uapi/asm-generic/fcntl.h`
 * (x86_64) and `arch/arm64/include/uapi/asm/fcntl.h` (aarch64).
 * `tests/arch_test.ts` checks them, and checks the running kernel's answers.
 *
 * Under qemu-user (`QEMU_LD_PREFIX=/usr/aarch64-linux-gnu`) every absolute path
 * a program opens is looked up under the prefix first and on the host after:
 * `/lib/libc.so.6` below resolves to the cross C library there, and a path that
 * reaches a host library of the other architecture fails to load, so the next
 * one is tried. The same list serves a real aarch64 machine and the emulation.
 *
 * @module
 */

/** The constants of one architecture. */
export interface ArchConstants {
  /** `O_DIRECT` for `open(2)`. */
  readonly O_DIRECT: number;
  /** `O_DIRECTORY` for `open(2)`. */
  readonly O_DIRECTORY: number;
  /**
   * `O_LARGEFILE`: never passed (64-bit processes get it anyway), but the
   * kernel reports it in `fcntl(F_GETFL)`.
   */
  readonly O_LARGEFILE: number;
  /** Directories where the C library and other system libraries live. */
  readonly libraryDirs: readonly string[];
}

/** The constants for each supported architecture. */
export const ARCH: Readonly<Record<"x86_64" | "aarch64", ArchConstants>> = {
  x86_64: {
    O_DIRECT: 0o40000,
    O_DIRECTORY: 0o200000,
    O_LARGEFILE: 0o100000,
    libraryDirs: [
      "/lib/x86_64-linux-gnu",
      "/usr/lib/x86_64-linux-gnu",
      "/lib64",
      "/usr/lib64",
      "/lib",
      "/usr/lib",
    ],
  },
  aarch64: {
    O_DIRECT: 0o200000,
    O_DIRECTORY: 0o40000,
    O_LARGEFILE: 0o400000,
    libraryDirs: [
      "/lib/aarch64-linux-gnu",
      "/usr/lib/aarch64-linux-gnu",
      "/lib64",
      "/usr/lib64",
      "/lib",
      "/usr/lib",
    ],
  },
};

/** The constants for the running process, or `undefined` on another OS or CPU. */
export function currentArch(): ArchConstants | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const arch = Deno.build.arch as string;
  return arch === "x86_64" || arch === "aarch64" ? ARCH[arch] : undefined;
}
