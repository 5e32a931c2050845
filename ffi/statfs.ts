/**
 * `struct statfs`: where its `f_type` (the file system's magic number) is, the
 * same on x86_64 and aarch64, and the magic numbers the library looks for.
 *
 * @module
 */

/** `struct statfs` is 120 bytes on x86_64 and aarch64; `f_type` comes first (a `long`). */
export const STATFS_LAYOUT = { SIZE: 120, type: 0 } as const;

/** `f_type` of ext2, ext3 and ext4. */
export const EXT4_SUPER_MAGIC = 0xef53;

/** `f_type` of pseudo file systems, whose files are made up as they are read. */
export const PSEUDO_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, "procfs"],
  [0x62656572, "sysfs"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x73636673, "securityfs"],
  [0x27e0eb, "cgroupfs"],
  [0x63677270, "cgroup2fs"],
  [0x62656570, "configfs"],
  [0xcafe4a11, "bpffs"],
  [0x6165676c, "pstorefs"],
  [0xde5e81e4, "efivarfs"],
]);
