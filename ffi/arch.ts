/**
 * Per-architecture constants of the Linux ABI that differ between x86_64 and
 * aarch64.
 *
 * @module
 */

/** The constants of one architecture. */
export interface ArchConstants {
  /** `O_DIRECT` for `open(2)`. */
  readonly O_DIRECT: number;
  /** `O_DIRECTORY` for `open(2)`. */
  readonly O_DIRECTORY: number;
  /** Directories where the C library and other system libraries live. */
  readonly libraryDirs: readonly string[];
}

/** The constants for each supported architecture. */
export const ARCH: Readonly<Record<"x86_64" | "aarch64", ArchConstants>> = {
  x86_64: {
    O_DIRECT: 0o40000,
    O_DIRECTORY: 0o200000,
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
