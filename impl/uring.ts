/**
 * The `uring` backend: io_uring in TypeScript (no liburing), submitted and
 * reaped on the JavaScript thread. The queue machinery it shares with `linux` is
 * in `ring/engine.ts`; this file maps the rings and says how requests are described,
 * submitted and reaped.
 *
 * - **Rings.** `io_uring_setup`, then the SQ and CQ rings (one mapping with
 *   `IORING_FEAT_SINGLE_MMAP`) and the SQE array are mapped and read through
 *   typed arrays over the mapped memory.
 * - **Memory ordering.** SQE fields and the SQ array are plain stores, then an
 *   `Atomics.store` of the SQ tail (a full barrier in V8) publishes them; the CQ
 *   tail is read with `Atomics.load` before the CQEs, and the CQ head is
 *   published with `Atomics.store` after them. Only this library writes the SQ
 *   tail and the CQ head.
 * - **Completions.** Reaped right after every `io_uring_enter` (page-cache hits
 *   complete during it); the rest signal the eventfd registered with
 *   `IORING_REGISTER_EVENTFD` (not `_ASYNC`, which stays silent for inline and
 *   `O_DIRECT` completions), which a second small ring relays to a pipe that
 *   Deno's event loop watches (`uring_relay.ts`). io_uring never blocks the submitter on a cache
 *   miss (kernel workers take it), so reads need no `RWF_NOWAIT`.
 * - **Buffered writes to ext4** of up to `QueueTuning.inlineWriteMax` are done
 *   with `pwrite(2)` on the JavaScript thread (`ring/policies/inline_writes.ts`),
 *   as `io_submit` does them for the `linux` backend: ext4 cannot take a
 *   buffered write without blocking, so a queued one goes to a kernel worker,
 *   which is slower on few cores (figures: docs/performance.md, "Inline
 *   buffered writes"). A write that must wait for
 *   writeback to make room (dirty-page throttling) waits on this thread. Larger
 *   writes, writes to other file systems (XFS and btrfs take async buffered
 *   writes; NFS and FUSE would block), `O_DIRECT` writes, reads and syncs go
 *   through the ring.
 * - **Bounds.** At most `QueueTuning.slots` requests are queued or in the
 *   kernel, and at most as many cancellations (one per request in the kernel
 *   when its signal aborted; one may wait for the next submission after its
 *   request was reaped and its slot reused): the SQ has twice `slots` entries
 *   and the CQ twice that, so neither overflows.
 *
 * @module
 */

import {
  CQE,
  IORING_FSYNC_DATASYNC,
  IORING_OP,
  IORING_REGISTER,
  loadUring,
  PARAMS,
  SQE,
  type UringCalls,
} from "../ffi/uring.ts";
import { fixedMemory, type Libc, loadLibc, setU64 } from "../ffi/libc.ts";
import { ERRNO } from "../ffi/errno.ts";
import type { Backend } from "./backend.ts";
import {
  failedWith,
  loadFailure,
  permanently,
  RememberedProbe,
  temporarily,
  type Unavailable,
} from "./availability.ts";
import { CANCEL_SLOT, RingBackend, type RingOp } from "./ring/engine.ts";
import { DEFAULT_TUNING, type QueueTuning } from "./tuning.ts";
import {
  ENTER_ATTEMPTS_MAX,
  errnoName,
  mapRings,
  type Rings,
} from "./uring_rings.ts";
import { RelayOnceLoaded } from "./uring_relay_lazy.ts";
import type { CompletionWake } from "./ring/wake.ts";

const OPCODES: Record<RingOp, number> = {
  read: IORING_OP.READ,
  write: IORING_OP.WRITE,
  fsync: IORING_OP.FSYNC,
  fdatasync: IORING_OP.FSYNC,
};

const IO_URING_OP_SUPPORTED = 1;
const PROBE_OPS = 256;

/** The `uring` backend. */
export class UringBackend extends RingBackend {
  readonly name = "uring" as const;
  protected readonly nowaitReads = false;
  /** Queued, a buffered write on ext4 goes to a kernel worker, which is slower. */
  protected readonly inlineWrites = true;
  readonly #calls: UringCalls;
  #rings: Rings | undefined;
  /** The SQ tail including requests prepared but not yet published. */
  #tail = 0;
  /**
   * Each slot's generation, in the high half of its requests' `user_data`: a
   * cancellation names one request, never a later one in the same slot.
   */
  readonly #generation: Uint32Array;
  readonly #relay: boolean;
  #lazyRelay: RelayOnceLoaded | undefined;
  /** Why the relay wake could not be had, when the pool wake serves instead. */
  relayRefusal: string | undefined;

  /**
   * @param libc The loaded C library.
   * @param calls The io_uring calls.
   * @param options `relay: false` keeps the pool wake (impl/ring/wake.ts);
   * `tuning`, the queue's tuning.
   */
  constructor(
    libc: Libc,
    calls: UringCalls,
    options?: { relay?: boolean; tuning?: QueueTuning },
  ) {
    const tuning = options?.tuning ?? DEFAULT_TUNING;
    super(libc, tuning);
    this.#generation = new Uint32Array(tuning.slots);
    this.#calls = calls;
    this.#relay = options?.relay ?? true;
  }

  /**
   * The relay (impl/uring_relay.ts) where it can be had, loaded when the first
   * wake is needed (impl/uring_relay_lazy.ts); else the pool wake.
   */
  protected override createWake(eventfd: number): CompletionWake {
    if (!this.#relay) return super.createWake(eventfd);
    this.#lazyRelay = new RelayOnceLoaded(
      this.libc,
      this.#calls,
      eventfd,
      (reason) => this.relayRefusal = reason,
    );
    return this.#lazyRelay;
  }

  /**
   * Resolves once the relay wake has loaded (or was refused: see
   * {@linkcode relayRefusal}), loading it now if it is not yet; the wake
   * after that uses it. For tests and benchmarks that measure the relay.
   */
  relayLoaded(): Promise<void> {
    return this.#lazyRelay?.relayLoaded() ?? Promise.resolve();
  }

  protected start(eventfd: number): Unavailable | undefined {
    const calls = this.#calls;
    const params = fixedMemory(Uint8Array, PARAMS.SIZE);
    const fd = calls.setup(2 * this.tuning.slots, params);
    if (fd < 0) return failedWith("io_uring_setup", -fd);
    const rings = this.#mapAndCheck(fd, params, eventfd);
    if ("reason" in rings) {
      calls.close(fd);
      return rings;
    }
    this.#rings = rings;
    this.#tail = rings.sq[rings.sqTail];
    return undefined;
  }

  #mapAndCheck(
    fd: number,
    params: Uint8Array,
    eventfd: number,
  ): Rings | Unavailable {
    const rings = mapRings(this.#calls, fd, params);
    // Once the ring exists, mapping it fails only for want of memory (ENOMEM,
    // or EAGAIN over the locked-memory limit).
    if (typeof rings === "string") return temporarily(rings);
    const unsupported = this.#unsupportedOps(fd);
    if (unsupported !== undefined) {
      rings.unmap();
      return permanently(unsupported);
    }
    const efd = fixedMemory(Int32Array, 4);
    efd[0] = eventfd;
    const registered = this.#calls.register(
      fd,
      IORING_REGISTER.EVENTFD,
      new Uint8Array(efd.buffer),
      1,
    );
    if (registered < 0) {
      rings.unmap();
      return failedWith("registering the eventfd", -registered);
    }
    return rings;
  }

  /** Why the kernel lacks an operation this backend needs (READ and WRITE came in 5.6). */
  #unsupportedOps(fd: number): string | undefined {
    const probe = fixedMemory(Uint8Array, 16 + PROBE_OPS * 8);
    const result = this.#calls.register(
      fd,
      IORING_REGISTER.PROBE,
      probe,
      PROBE_OPS,
    );
    if (result < 0) {
      return `the kernel cannot be probed (${
        errnoName(-result)
      }): io_uring before 5.6`;
    }
    const view = new DataView(probe.buffer);
    const lastOp = probe[0];
    for (const [name, op] of Object.entries(IORING_OP)) {
      const supported = op <= lastOp &&
        (view.getUint16(16 + op * 8 + 2, true) & IO_URING_OP_SUPPORTED) !== 0;
      if (!supported) return `the kernel's io_uring lacks ${name}`;
    }
    return undefined;
  }

  protected prepare(
    slot: number,
    op: RingOp,
    fd: number,
    address: bigint,
    length: number,
    offset: number,
    _nowait: boolean,
  ): void {
    const rings = this.#rings!;
    const index = this.#tail & rings.sqMask;
    this.#tail = (this.#tail + 1) >>> 0;
    const sqe = rings.sqes;
    const base = index * SQE.SIZE;
    sqe.setUint8(base + SQE.opcode, OPCODES[op]);
    sqe.setUint8(base + SQE.flags, 0);
    sqe.setUint16(base + SQE.ioprio, 0, true);
    sqe.setInt32(base + SQE.fd, fd, true);
    setU64(sqe, base + SQE.off, offset);
    sqe.setBigUint64(base + SQE.addr, address, true);
    sqe.setUint32(base + SQE.len, length, true);
    sqe.setUint32(
      base + SQE.opFlags,
      op === "fdatasync" ? IORING_FSYNC_DATASYNC : 0,
      true,
    );
    const generation = (this.#generation[slot] + 1) >>> 0;
    this.#generation[slot] = generation;
    sqe.setUint32(base + SQE.userData, slot, true);
    sqe.setUint32(base + SQE.userData + 4, generation, true);
    // The remaining fields (buf_index, personality, splice_fd_in, addr3) stay 0.
    sqe.setBigUint64(base + 40, 0n, true);
    sqe.setBigUint64(base + 48, 0n, true);
    sqe.setBigUint64(base + 56, 0n, true);
    rings.sq[rings.sqArray + index] = index;
  }

  /**
   * Removes the entry at the SQ head, which the kernel refused with the rest
   * (it consumed nothing): the entries after it move down one place, in the
   * ring's identity layout (position `p` holds entry `p & mask`), and the
   * tail comes back by one.
   */
  protected override dropFirstQueued(): void {
    const rings = this.#rings!;
    const mask = rings.sqMask;
    const bytes = new Uint8Array(
      rings.sqes.buffer,
      rings.sqes.byteOffset,
      rings.sqes.byteLength,
    );
    let position = Atomics.load(rings.sq, rings.sqHead);
    for (
      ;
      ((this.#tail - position) >>> 0) > 1;
      position = (position + 1) >>> 0
    ) {
      const to = (position & mask) * SQE.SIZE;
      const from = (((position + 1) >>> 0) & mask) * SQE.SIZE;
      bytes.copyWithin(to, from, from + SQE.SIZE);
    }
    this.#tail = (this.#tail - 1) >>> 0;
    Atomics.store(rings.sq, rings.sqTail, this.#tail);
  }

  /** An `IORING_OP_ASYNC_CANCEL` entry naming the request in `slot`. */
  protected override cancelInKernel(slot: number): boolean {
    const rings = this.#rings;
    if (rings === undefined) return false;
    const index = this.#tail & rings.sqMask;
    this.#tail = (this.#tail + 1) >>> 0;
    const sqe = rings.sqes;
    const base = index * SQE.SIZE;
    sqe.setUint8(base + SQE.opcode, IORING_OP.ASYNC_CANCEL);
    sqe.setUint8(base + SQE.flags, 0);
    sqe.setUint16(base + SQE.ioprio, 0, true);
    sqe.setInt32(base + SQE.fd, -1, true);
    setU64(sqe, base + SQE.off, 0);
    // addr: the user_data of the request to cancel.
    sqe.setUint32(base + SQE.addr, slot, true);
    sqe.setUint32(base + SQE.addr + 4, this.#generation[slot], true);
    sqe.setUint32(base + SQE.len, 0, true);
    sqe.setUint32(base + SQE.opFlags, 0, true);
    sqe.setUint32(base + SQE.userData, CANCEL_SLOT, true);
    sqe.setUint32(base + SQE.userData + 4, 0, true);
    sqe.setBigUint64(base + 40, 0n, true);
    sqe.setBigUint64(base + 48, 0n, true);
    sqe.setBigUint64(base + 56, 0n, true);
    rings.sq[rings.sqArray + index] = index;
    return true;
  }

  protected submitQueued(slots: readonly number[]): number {
    const rings = this.#rings!;
    Atomics.store(rings.sq, rings.sqTail, this.#tail); // publishes the SQEs
    let submitted = 0;
    for (let attempt = 0; submitted < slots.length; attempt++) {
      const n = this.#calls.enter(rings.fd, slots.length - submitted, 0, 0);
      if (n > 0) {
        submitted += n;
      } else if (
        (n === -ERRNO.EINTR || n === -ERRNO.EAGAIN || n === -ERRNO.EBUSY) &&
        attempt < ENTER_ATTEMPTS_MAX
      ) {
        continue; // transient: the SQEs stay in the ring, try again
      } else {
        // The ring itself refused (not a request: those fail in their CQE).
        return submitted > 0 ? submitted : n;
      }
    }
    return submitted;
  }

  protected reapReady(
    complete: (slot: number, res: number) => void,
    limit: number,
  ): boolean {
    const rings = this.#rings!;
    let head = rings.cq[rings.cqHead];
    const tail = Atomics.load(rings.cq, rings.cqTail);
    for (let left = limit; head !== tail && left > 0; left--) {
      const at = rings.cqes + (head & rings.cqMask) * CQE.SIZE;
      const slot = rings.cqBytes.getUint32(at + CQE.userData, true);
      const res = rings.cqBytes.getInt32(at + CQE.res, true);
      head = (head + 1) >>> 0;
      complete(slot, res);
    }
    Atomics.store(rings.cq, rings.cqHead, head);
    return head !== tail;
  }

  protected stop(): void {
    const rings = this.#rings;
    if (rings === undefined) return;
    this.#rings = undefined; // no view is touched after munmap
    rings.unmap();
    this.#calls.close(rings.fd); // the kernel finishes what is in flight
  }
}

/**
 * The attempt behind the `uring` probe: sets up a ring of one entry and closes
 * it. Says whether this process may set up a ring at all
 * (`kernel.io_uring_disabled`, seccomp in containers, old kernels: permanent) or
 * cannot just now (EMFILE, ENOMEM: transient, see impl/availability.ts).
 */
export function probeRingSetup(
  calls: UringCalls,
): () => Unavailable | undefined {
  return () => {
    const params = fixedMemory(Uint8Array, PARAMS.SIZE);
    const fd = calls.setup(1, params);
    if (fd < 0) return failedWith("io_uring_setup", -fd);
    calls.close(fd);
    return undefined;
  };
}

/** The probe's answer: a success or permanent failure for good, a transient one for a while. */
let probed: RememberedProbe | undefined;

/** Describes the `uring` backend: Linux, unscoped FFI permission, io_uring allowed. */
export const uringProvider = {
  name: "uring" as const,
  /** Why the backend cannot be used now, and whether for good; cheap once probed. */
  unavailability(): Unavailable | undefined {
    if (Deno.build.os !== "linux") {
      return permanently(`needs Linux (this is ${Deno.build.os})`);
    }
    const libc = loadLibc();
    if (!libc.ok) return loadFailure(libc);
    const uring = loadUring(libc.library);
    if (!uring.ok) return loadFailure(uring);
    probed ??= new RememberedProbe(probeRingSetup(uring.calls));
    return probed.get();
  },
  unavailableReason(): string | undefined {
    return uringProvider.unavailability()?.reason;
  },
  create(tuning: QueueTuning = DEFAULT_TUNING): Backend {
    const libc = loadLibc();
    if (!libc.ok) throw new Error(libc.reason);
    const uring = loadUring(libc.library);
    if (!uring.ok) throw new Error(uring.reason);
    return new UringBackend(libc.library, uring.calls, { tuning });
  },
};
