/**
 * The `uring` backend's completion wake: the eventfd signal is relayed to a pipe
 * that Deno's event loop watches, so a completion wakes the JavaScript thread
 * directly rather than through a thread of Deno's pool.
 *
 * A second io_uring of two entries holds, while armed, a read of the backend's
 * eventfd hard-linked to a one-byte write to a pipe. The read end of the pipe is
 * adopted by a `node:net` socket (no permission needed), whose `"data"` event
 * resolves the armed promise. The socket is referenced only while armed, so an
 * idle process exits.
 *
 * The pool's wake costs one thread wake more per completion, which shows at
 * every queue depth (figures: docs/performance.md, "The completion wake").
 *
 * If anything is missing (a Deno whose `node:net` cannot adopt a descriptor, a
 * second ring refused), `create` says why and the backend keeps the pool wake.
 * If the relay fails later (its ring refuses to be armed, or the socket
 * errors), the pool wake takes over, for good, and `name` says `"pool"`.
 *
 * @module
 */

import { Socket } from "node:net";
import {
  addressOf,
  fixedMemory,
  lastErrno,
  type Libc,
  setU64,
} from "../ffi/libc.ts";
import { ERRNO } from "../ffi/errno.ts";
import {
  IORING_OP,
  IOSQE_IO_HARDLINK,
  PARAMS,
  SQE,
  type UringCalls,
} from "../ffi/uring.ts";
import {
  ENTER_ATTEMPTS_MAX,
  errnoName,
  mapRings,
  type Rings,
} from "./uring_rings.ts";
import { type CompletionWake, PoolWake, type WakeName } from "./ring/wake.ts";

const O_CLOEXEC = 0o2000000;
/** `off` of a write to a pipe: the file has no position. */
const NO_OFFSET = 0xffff_ffff_ffff_ffffn;

/** Relays eventfd signals to a pipe watched by Deno's event loop. */
export class RelayWake implements CompletionWake {
  readonly #calls: UringCalls;
  readonly #eventfd: number;
  readonly #socket: Socket;
  readonly #pipeWrite: number;
  /** Serves `arm()` once the relay has failed. */
  readonly #fallback: PoolWake;
  #rings: Rings | undefined;
  #tail: number;
  /** Written by the kernel: the eventfd count, then the byte for the pipe. */
  readonly #counter = fixedMemory(BigUint64Array, 8);
  readonly #byte = fixedMemory(Uint8Array, 8);
  #armed: (() => void) | undefined;
  /** Set when the relay failed and the pool wake took over. */
  #failed = false;

  private constructor(
    libc: Libc,
    calls: UringCalls,
    eventfd: number,
    rings: Rings,
    pipe: { socket: Socket; write: number },
  ) {
    this.#calls = calls;
    this.#eventfd = eventfd;
    this.#rings = rings;
    this.#tail = rings.sq[rings.sqTail];
    this.#socket = pipe.socket;
    this.#pipeWrite = pipe.write;
    this.#fallback = new PoolWake(libc, eventfd);
    this.#prepare(libc);
    pipe.socket.on("data", () => this.#wake());
    pipe.socket.on("error", () => this.#fail());
    pipe.socket.unref();
  }

  /** `"relay"`, or `"pool"` once the relay has failed and the pool wake serves. */
  get name(): WakeName {
    return this.#failed ? "pool" : "relay";
  }

  /**
   * A relay for `eventfd`, or why it cannot be had (nothing is left open
   * then).
   */
  static create(
    libc: Libc,
    calls: UringCalls,
    eventfd: number,
  ): RelayWake | string {
    const fds = fixedMemory(Int32Array, 8);
    if (libc.symbols.pipe2(fds, O_CLOEXEC) !== 0) {
      return `pipe2 failed: ${errnoName(lastErrno(libc))}`;
    }
    const [read, write] = fds;
    const closePipe = () => {
      libc.symbols.close(read);
      libc.symbols.close(write);
    };
    const params = fixedMemory(Uint8Array, PARAMS.SIZE);
    const fd = calls.setup(2, params);
    if (fd < 0) {
      closePipe();
      return `io_uring_setup of the relay failed: ${errnoName(-fd)}`;
    }
    const rings = mapRings(calls, fd, params);
    if (typeof rings === "string") {
      calls.close(fd);
      closePipe();
      return rings;
    }
    let socket: Socket;
    try {
      socket = new Socket({ fd: read, readable: true, writable: false });
    } catch (error) {
      rings.unmap();
      calls.close(fd);
      closePipe();
      return `node:net cannot watch a pipe here: ${
        (error as Error).message ?? error
      }`;
    }
    return new RelayWake(libc, calls, eventfd, rings, { socket, write });
  }

  /** Writes the two SQEs once; each arm only publishes them again. */
  #prepare(libc: Libc): void {
    const { sqes } = this.#rings!;
    const describe = (
      index: number,
      opcode: number,
      flags: number,
      fd: number,
      buffer: Uint8Array | BigUint64Array,
      length: number,
      offset: bigint,
    ) => {
      const base = index * SQE.SIZE;
      for (let at = 0; at < SQE.SIZE; at += 8) {
        sqes.setBigUint64(base + at, 0n, true);
      }
      sqes.setUint8(base + SQE.opcode, opcode);
      sqes.setUint8(base + SQE.flags, flags);
      sqes.setInt32(base + SQE.fd, fd, true);
      sqes.setBigUint64(base + SQE.off, offset, true);
      sqes.setBigUint64(base + SQE.addr, addressOf(libc, buffer), true);
      sqes.setUint32(base + SQE.len, length, true);
      setU64(sqes, base + SQE.userData, index);
    };
    describe(
      0,
      IORING_OP.READ,
      IOSQE_IO_HARDLINK,
      this.#eventfd,
      this.#counter,
      8,
      0n,
    );
    describe(1, IORING_OP.WRITE, 0, this.#pipeWrite, this.#byte, 1, NO_OFFSET);
  }

  arm(): Promise<unknown> {
    const rings = this.#rings;
    if (rings === undefined) return this.#fallback.arm();
    for (let i = 0; i < 2; i++) {
      rings.sq[rings.sqArray + ((this.#tail + i) & rings.sqMask)] = i;
    }
    this.#tail = (this.#tail + 2) >>> 0;
    Atomics.store(rings.sq, rings.sqTail, this.#tail); // publishes the SQEs
    let submitted = 0;
    for (
      let attempt = 0;
      submitted < 2 && attempt < ENTER_ATTEMPTS_MAX;
      attempt++
    ) {
      const n = this.#calls.enter(rings.fd, 2 - submitted, 0, 0);
      if (n > 0) submitted += n;
      else if (
        n !== -ERRNO.EINTR && n !== -ERRNO.EAGAIN && n !== -ERRNO.EBUSY
      ) break;
    }
    if (submitted < 2) {
      this.#fail();
      return this.#fallback.arm();
    }
    this.#socket.ref();
    return new Promise<void>((resolve) => this.#armed = resolve);
  }

  #wake(): void {
    const rings = this.#rings;
    // The CQEs only say the relay ran: skip them all.
    if (rings !== undefined) {
      Atomics.store(
        rings.cq,
        rings.cqHead,
        Atomics.load(rings.cq, rings.cqTail),
      );
    }
    this.#socket.unref();
    const armed = this.#armed;
    this.#armed = undefined;
    armed?.();
  }

  /**
   * The relay stops (its ring is closed, which cancels a pending read of the
   * eventfd); from now on the pool wake serves. An armed promise resolves now:
   * the queue reaps and arms again.
   */
  #fail(): void {
    this.#failed = true;
    this.#closeRing();
    this.#socket.unref();
    const armed = this.#armed;
    this.#armed = undefined;
    armed?.();
  }

  #closeRing(): void {
    const rings = this.#rings;
    if (rings === undefined) return;
    this.#rings = undefined; // no view is touched after munmap
    rings.unmap();
    this.#calls.close(rings.fd);
  }

  close(): void {
    this.#closeRing();
    this.#socket.destroy();
    this.#calls.close(this.#pipeWrite);
  }
}
