/**
 * `struct statx` (Linux 4.11+, the same layout on every architecture) and its
 * translation into the `Deno.FileInfo` that `Deno.stat` gives for the same
 * file.
 *
 * @module
 */

/** `statx` flags: the descriptor itself (`pathname` is `""`). */
export const AT_EMPTY_PATH = 0x1000;

/** `statx` mask bits. */
export const STATX = {
  /** Every field of `struct stat` (type, mode, links, ids, times, inode, size, blocks). */
  BASIC_STATS: 0x7ff,
  /** The creation time. */
  BTIME: 0x800,
  /** `O_DIRECT` alignment (Linux 6.1+). */
  DIOALIGN: 0x2000,
} as const;

/** Field offsets of `struct statx` (256 bytes). */
export const STATX_LAYOUT = {
  SIZE: 256,
  mask: 0, // u32
  blksize: 4, // u32
  nlink: 16, // u32
  uid: 20, // u32
  gid: 24, // u32
  mode: 28, // u16
  ino: 32, // u64
  size: 40, // u64
  blocks: 48, // u64
  atime: 64, // struct statx_timestamp: tv_sec s64 @0, tv_nsec u32 @8
  btime: 80,
  ctime: 96,
  mtime: 112,
  rdevMajor: 128, // u32
  rdevMinor: 132, // u32
  devMajor: 136, // u32
  devMinor: 140, // u32
  dioMemAlign: 152, // u32
  dioOffsetAlign: 156, // u32
} as const;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

/** glibc's `makedev`: the `dev_t` that `stat(2)` reports, from a major and minor number. */
function makedev(major: number, minor: number): number {
  // ((major & 0xfffff000) << 32) | ((major & 0xfff) << 8) |
  // ((minor & 0xffffff00) << 12) | (minor & 0xff), without 32-bit overflow.
  return (major - (major % 0x1000)) * 2 ** 32 + (major % 0x1000) * 0x100 +
    (minor - (minor % 0x100)) * 0x1000 + (minor % 0x100);
}

function u64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

function time(view: DataView, at: number, withMs: boolean): Date {
  const seconds = Number(view.getBigInt64(at, true));
  const ms = withMs ? Math.trunc(view.getUint32(at + 8, true) / 1e6) : 0;
  return new Date(seconds * 1000 + ms);
}

/** The `statx` calls this module needs of the C library. */
export interface StatxCall {
  statx(
    dirfd: number,
    path: Uint8Array,
    flags: number,
    mask: number,
    statx: Uint8Array,
  ): number;
}

/** The empty path of `AT_EMPTY_PATH` (a NUL byte), in memory that does not move. */
const EMPTY_PATH = new Uint8Array(new ArrayBuffer(1));

/**
 * `statx(2)` of an open descriptor into `buffer` (a {@linkcode STATX_LAYOUT}
 * `SIZE`-byte buffer over memory of its own); returns 0 or -1 (`errno` set).
 */
export function statxOf(
  libc: StatxCall,
  fd: number,
  buffer: Uint8Array,
  mask: number = STATX.BASIC_STATS | STATX.BTIME,
): number {
  return libc.statx(fd, EMPTY_PATH, AT_EMPTY_PATH, mask, buffer);
}

/**
 * The `Deno.FileInfo` of a filled `struct statx`, as `Deno.stat` reports the
 * same file (`ctime` in whole seconds, as Deno gives it; `birthtime` null
 * where the file system does not record it).
 */
export function fileInfoOfStatx(statx: Uint8Array): Deno.FileInfo {
  const view = new DataView(statx.buffer, statx.byteOffset, statx.byteLength);
  const L = STATX_LAYOUT;
  const mask = view.getUint32(L.mask, true);
  const mode = view.getUint16(L.mode, true);
  const type = mode & S_IFMT;
  return {
    isFile: type === S_IFREG,
    isDirectory: type === S_IFDIR,
    isSymlink: type === S_IFLNK,
    size: u64(view, L.size),
    mtime: time(view, L.mtime, true),
    atime: time(view, L.atime, true),
    birthtime: (mask & STATX.BTIME) !== 0 ? time(view, L.btime, true) : null,
    ctime: time(view, L.ctime, false),
    dev: makedev(
      view.getUint32(L.devMajor, true),
      view.getUint32(L.devMinor, true),
    ),
    mode,
    ino: u64(view, L.ino),
    nlink: view.getUint32(L.nlink, true),
    uid: view.getUint32(L.uid, true),
    gid: view.getUint32(L.gid, true),
    rdev: makedev(
      view.getUint32(L.rdevMajor, true),
      view.getUint32(L.rdevMinor, true),
    ),
    blksize: view.getUint32(L.blksize, true),
    blocks: u64(view, L.blocks),
    isBlockDevice: type === S_IFBLK,
    isCharDevice: type === S_IFCHR,
    isFifo: type === S_IFIFO,
    isSocket: type === S_IFSOCK,
  };
}
