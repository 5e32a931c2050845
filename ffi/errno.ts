/**
 * Linux error numbers: the one table every layer takes them from. The
 * numbering is the kernel's generic one (`include/uapi/asm-generic/errno-base.h`
 * and `errno.h`), which both x86_64 and aarch64 use; the first 34 are also the
 * same on every POSIX system. The messages that go with them (`strerror`) are
 * in `impl/shared/errors.ts`, with the error classes.
 *
 * @module
 */

/**
 * Linux errno numbers by name, for the codes the library names: those its
 * backends test for, and those its errors are given a symbolic `code` for.
 * `tests/errno_test.ts` checks them against the system.
 */
export const ERRNO = Object.freeze(
  {
    EPERM: 1,
    ENOENT: 2,
    EINTR: 4,
    EIO: 5,
    ENXIO: 6,
    EBADF: 9,
    EAGAIN: 11,
    ENOMEM: 12,
    EACCES: 13,
    EFAULT: 14,
    EBUSY: 16,
    EEXIST: 17,
    EXDEV: 18,
    ENODEV: 19,
    ENOTDIR: 20,
    EISDIR: 21,
    EINVAL: 22,
    ENFILE: 23,
    EMFILE: 24,
    ETXTBSY: 26,
    EFBIG: 27,
    ENOSPC: 28,
    ESPIPE: 29,
    EROFS: 30,
    EPIPE: 32,
    ENAMETOOLONG: 36,
    ENOSYS: 38,
    ELOOP: 40,
    EOVERFLOW: 75,
    EOPNOTSUPP: 95,
    EDQUOT: 122,
    ECANCELED: 125,
  } as const,
);
