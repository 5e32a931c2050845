/**
 * What a file of a kernel queue is given when it opens: its file system's
 * type, and the policies that apply to it (`policies/`), chosen from its open
 * flags, its file system and the queue's tuning.
 *
 * @module
 */

import { FALLOC_FL_KEEP_SIZE, type Libc } from "../../ffi/libc.ts";
import { EXT4_SUPER_MAGIC, STATFS_LAYOUT } from "../../ffi/statfs.ts";
import type { OpenFlags } from "../backend.ts";
import type { ThreadFile } from "../thread.ts";
import type { QueueTuning } from "../tuning.ts";
import type { AlignedBuffers } from "./policies/aligned_buffers.ts";
import { directAlignment, DirectIo } from "./policies/direct_io.ts";
import { EarlyWritebackPolicy } from "./policies/early_writeback.ts";
import { InlineWrites } from "./policies/inline_writes.ts";
import type { FilePolicy } from "./policies/policy.ts";
import { PoolFallback } from "./policies/pool_fallback.ts";
import { PreallocationPolicy } from "./policies/preallocation.ts";

/** The `f_type` of the file system of `fd` (`fstatfs(2)`), 0 if unknown. */
export function fileSystemType(libc: Libc, fd: number): number {
  const statfs = new BigInt64Array(STATFS_LAYOUT.SIZE / 8);
  if (libc.symbols.fstatfs(fd, statfs) !== 0) return 0;
  return Number(statfs[STATFS_LAYOUT.type / 8]);
}

/** What a queue knows of itself when it sets a file up. */
export interface QueueTraits {
  readonly libc: Libc;
  readonly tuning: QueueTuning;
  /** Buffered reads carry `RWF_NOWAIT` (a queue that would block on a miss). */
  readonly nowaitReads: boolean;
  /** Buffered ext4 writes may be done on this thread. */
  readonly inlineWrites: boolean;
  readonly alignedBuffers: AlignedBuffers;
}

/** A file's setup: its policies, its `O_DIRECT` alignment, its inline writes. */
export interface FileSetup {
  readonly policies: FilePolicy[];
  readonly alignment: number;
  readonly inline: InlineWrites | undefined;
}

/** The policies of the file `threads` serves, opened with `flags`. */
export function fileSetup(
  queue: QueueTraits,
  threads: ThreadFile,
  file: { fd: number; path: string; flags: OpenFlags; fsType: number },
): FileSetup {
  const { tuning } = queue;
  const { fd, path, flags } = file;
  const policies: FilePolicy[] = [];
  let alignment = 1;
  if (flags.direct) {
    const direct = directAlignment(queue.libc, fd, path);
    alignment = direct.offset;
    policies.push(new DirectIo(direct, queue.alignedBuffers, path));
  }
  policies.push(new PoolFallback(threads, queue.nowaitReads && !flags.direct));
  const buffered = !flags.direct;
  const ext4 = file.fsType === EXT4_SUPER_MAGIC;
  // Only for files this open created or emptied, never for appends: see
  // policies/preallocation.ts.
  if (
    tuning.preallocation && buffered && ext4 && !flags.append &&
    (flags.truncate || flags.createNew)
  ) {
    policies.push(
      new PreallocationPolicy(
        (range) => threads.fallocateNow(FALLOC_FL_KEEP_SIZE, range),
        () => threads.statNow().size,
        (length) => threads.truncateNow(length),
      ),
    );
  }
  // In append mode the kernel, not the offset, says where a write lands.
  if (tuning.earlyWriteback && buffered && !flags.append) {
    policies.push(
      new EarlyWritebackPolicy((range) =>
        threads.startWriteback(range)?.then((result) => result === 0)
      ),
    );
  }
  const inline =
    queue.inlineWrites && buffered && ext4 && tuning.inlineWriteMax > 0
      ? new InlineWrites(threads, tuning.inlineWriteMax, path)
      : undefined;
  return { policies, alignment, inline };
}
